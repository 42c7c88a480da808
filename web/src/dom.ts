/** The element of index.html with this id: the page's markup is what the map's parts agree on. */
export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T
