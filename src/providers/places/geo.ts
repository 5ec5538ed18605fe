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
