/** Great-circle helpers on a sphere of radius 6371 km (the usual mean Earth radius). */
export const EARTH_RADIUS_M = 6_371_000;
const RAD = Math.PI / 180;

/** Haversine distance in metres. */
export function distanceMeters(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The point `meters` away from (lat, lng) on the initial bearing `bearingDeg` (0 = north); longitude normalised to [-180, 180]. */
export function destination(lat: number, lng: number, bearingDeg: number, meters: number): { lat: number; lng: number } {
  const d = meters / EARTH_RADIUS_M;
  const b = bearingDeg * RAD;
  const p1 = lat * RAD;
  const l1 = lng * RAD;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return { lat: p2 / RAD, lng: normalizeLng(l2 / RAD) };
}

export function normalizeLng(lng: number): number {
  return ((((lng + 180) % 360) + 360) % 360) - 180;
}

export function validLatLng(lat: number, lng: number): boolean {
  return Number.isFinite(lat) && Number.isFinite(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180;
}

/**
 * Centroid of a way's nodes (the closing node of a ring counted once). Longitudes are unwrapped
 * around the first node so a way across the antimeridian does not average to the other side of the Earth.
 */
export function centroid(lats: ArrayLike<number>, lngs: ArrayLike<number>): { lat: number; lng: number } | undefined {
  let n = lats.length;
  if (n === 0) return undefined;
  if (n > 1 && lats[0] === lats[n - 1] && lngs[0] === lngs[n - 1]) n--;
  const lng0 = lngs[0]!;
  let sumLat = 0;
  let sumLng = 0;
  for (let i = 0; i < n; i++) {
    let lng = lngs[i]!;
    if (lng - lng0 > 180) lng -= 360;
    else if (lng - lng0 < -180) lng += 360;
    sumLat += lats[i]!;
    sumLng += lng;
  }
  return { lat: sumLat / n, lng: normalizeLng(sumLng / n) };
}

/**
 * Longitude/latitude boxes ([minLng, minLat, maxLng, maxLat]) that together hold every point within
 * `meters` of the centre: one box, two when the circle crosses the antimeridian, or the whole
 * longitude band when it reaches over a pole (the exact bound of a spherical cap's longitudes is
 * asin(sin(d) / cos(lat)), which grows without limit towards the poles).
 */
export function capBoxes(lat: number, lng: number, meters: number): [number, number, number, number][] {
  const d = meters / EARTH_RADIUS_M;
  const dLat = d / RAD;
  const minLat = lat - dLat;
  const maxLat = lat + dLat;
  if (d >= Math.PI / 2 || maxLat >= 90 || minLat <= -90) return [[-180, Math.max(-90, minLat), 180, Math.min(90, maxLat)]];
  const dLng = Math.asin(Math.min(1, Math.sin(d) / Math.cos(lat * RAD))) / RAD;
  const west = lng - dLng;
  const east = lng + dLng;
  if (dLng >= 180 || east - west >= 360) return [[-180, minLat, 180, maxLat]];
  if (west < -180) return [[west + 360, minLat, 180, maxLat], [-180, minLat, east, maxLat]];
  if (east > 180) return [[west, minLat, 180, maxLat], [-180, minLat, east - 360, maxLat]];
  return [[west, minLat, east, maxLat]];
}

/**
 * Great-circle distance in metres from a point to the segment A-B (the shorter arc between them),
 * on the same sphere as `distanceMeters`: the cross-track distance when the point's foot on the
 * arc's great circle lies between A and B, else the distance to the nearer end. Overpass's
 * `around` measures a way the same way (its nodes and its segments, on the great circle).
 */
export function segmentDistanceMeters(lat: number, lng: number, aLat: number, aLng: number, bLat: number, bLng: number): number {
  const p = unit(lat, lng);
  const a = unit(aLat, aLng);
  const b = unit(bLat, bLng);
  // n: the normal of the arc's plane. A zero normal (A = B, or antipodes) leaves the end points.
  const nx = a[1] * b[2] - a[2] * b[1];
  const ny = a[2] * b[0] - a[0] * b[2];
  const nz = a[0] * b[1] - a[1] * b[0];
  const len = Math.hypot(nx, ny, nz);
  const ends = () => Math.min(distanceMeters(lat, lng, aLat, aLng), distanceMeters(lat, lng, bLat, bLng));
  if (len < 1e-15) return ends();
  const s = (p[0] * nx + p[1] * ny + p[2] * nz) / len;
  // The foot: P minus its component along n. It lies on the arc when A->foot and foot->B turn the way A->B does.
  const fx = p[0] - s * (nx / len);
  const fy = p[1] - s * (ny / len);
  const fz = p[2] - s * (nz / len);
  const side1 = (a[1] * fz - a[2] * fy) * nx + (a[2] * fx - a[0] * fz) * ny + (a[0] * fy - a[1] * fx) * nz;
  const side2 = (fy * b[2] - fz * b[1]) * nx + (fz * b[0] - fx * b[2]) * ny + (fx * b[1] - fy * b[0]) * nz;
  if (side1 < 0 || side2 < 0 || fx * p[0] + fy * p[1] + fz * p[2] < 0) return ends();
  return EARTH_RADIUS_M * Math.asin(Math.min(1, Math.abs(s)));
}

function unit(lat: number, lng: number): [number, number, number] {
  const la = lat * RAD;
  const lo = lng * RAD;
  const c = Math.cos(la);
  return [c * Math.cos(lo), c * Math.sin(lo), Math.sin(la)];
}

/**
 * Whether (lat, lng) is inside the rings: even-odd ray casting over every ring's edges, so inner
 * rings (holes) of a multipolygon take themselves out without telling outer from inner. Planar on
 * longitude/latitude with longitudes unwrapped around the point (an area across the antimeridian
 * works); areas a few kilometres wide are what a radius query meets, where this is exact enough.
 * Ring r (from <= r < to) is the vertices rings[r] .. rings[r + 1] - 1 of `coords` ([lng, lat] pairs), closed or not.
 */
export function insideRings(lat: number, lng: number, coords: ArrayLike<number>, rings: ArrayLike<number>, from: number, to: number): boolean {
  let inside = false;
  for (let r = from; r < to; r++) {
    const start = rings[r]!;
    const end = rings[r + 1]!;
    const n = end - start;
    if (n < 3) continue;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const xi = unwrap(coords[2 * (start + i)]!, lng);
      const yi = coords[2 * (start + i) + 1]!;
      const xj = unwrap(coords[2 * (start + j)]!, lng);
      const yj = coords[2 * (start + j) + 1]!;
      if (yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

function unwrap(x: number, around: number): number {
  if (x - around > 180) return x - 360;
  if (x - around < -180) return x + 360;
  return x;
}
