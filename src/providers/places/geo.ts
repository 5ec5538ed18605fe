/**
 * Great-circle helpers on a sphere of radius 6371 km: the same model geokdbush uses, so the index's
 * answer and a brute-force check agree to the millimetre.
 */
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
