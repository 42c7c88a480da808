export * from './system-tools.ts'
export * from './wait-for.ts'
export * from './temp-dir.ts'
export * from './free-port.ts'
