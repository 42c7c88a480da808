/** The element of index.html with this id: the page's markup is what the map's parts agree on. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T

/** Text for the few places Leaflet takes HTML (attributions): the city's files are shown, never interpreted. */
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
