import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
          testTimeout: 20_000,
        },
      },
      {
        // The type-level tests (expectTypeOf, @ts-expect-error) fail `npm test`, not only `tsc`: every
        // spec that asserts types is type-checked here (its runtime assertions run in `unit`).
        test: {
          name: 'types',
          include: [],
          typecheck: {
            enabled: true,
            only: true,
            include: ['src/**/*.unit.spec.ts', 'test/**/*.unit.spec.ts'],
            tsconfig: './tsconfig.json',
          },
        },
      },
      {
        test: {
          name: 'int',
          include: ['src/**/*.int.spec.ts', 'test/**/*.int.spec.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
})
