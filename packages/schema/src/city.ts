/**
 * Mỹ Tho's area (district polygon bbox in ../shared/data/mytho-facts.md §0, widened to take the Rạch Miễu spans).
 * Apart from registry.ts's schemas so the map's entry script can frame the city without loading zod.
 */
export const CITY_BOUNDS = { south: 10.3, north: 10.42, west: 106.28, east: 106.44 } as const
