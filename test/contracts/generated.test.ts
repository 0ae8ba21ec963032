import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileContracts, generatedFile } from '@/contracts/compile';

describe('lib/chain/contracts.generated.ts', () => {
  it('matches a fresh compile of contracts/*.sol (run `npm run contracts` after editing Solidity)', () => {
    const committed = readFileSync(generatedFile, 'utf8');
    const fresh = compileContracts();
    // Compare the ABIs first: a clearer diff than a bytecode blob when someone changed an interface.
    const abis = (text: string) => text.split('\n').filter((line) => !line.includes('Bytecode ='));
    expect(abis(committed)).toEqual(abis(fresh));
    expect(committed === fresh, 'bytecode differs: run `npm run contracts`').toBe(true);
  }, 120_000);
});
