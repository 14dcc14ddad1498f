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
      {
        // The example shop (examples/ecommerce): end-to-end tests that boot its six processes on free ports.
        test: {
          name: 'example',
          include: [
            'examples/ecommerce/test/**/*.e2e.spec.ts',
            'examples/ecommerce/test/**/*.int.spec.ts',
            'examples/ecommerce/test/**/*.unit.spec.ts',
          ],
          globalSetup: ['examples/ecommerce/test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          // One stack at a time: each is seven processes.
          poolOptions: { forks: { singleFork: true } },
        },
      },
    ],
  },
})
