/**
 * HAProxy names (frontends, backends, servers) from the snapshot's ids: HAProxy allows letters, digits
 * and `-_.:`. An id that needed changing gets a short hash of the original so two ids never collide.
 */
export function sanitizeName(id: string): string {
  const clean = id.replace(/[^A-Za-z0-9_.:-]/g, '_');
  return clean === id && clean !== '' ? clean : `${clean}-${fnv1a(id)}`;
}

export const frontendName = (id: string): string => `fe_${sanitizeName(id)}`;
export const backendName = (id: string): string => `be_${sanitizeName(id)}`;
export const serverName = (id: string): string => sanitizeName(id);

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0').slice(0, 6);
}
