// The contracts check's buf breaking step: the event contracts in proto/ still read what the
// released ones (proto/baseline) wrote, and a copy of proto/ with an incompatible change fails
// it, naming the field.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { breakingChanges, type BreakingChange } from '#workbook/commands/check.ts';
import { repoRoot } from '#workbook/trees.ts';

const EVENTS_PROTO = 'auction/events/v1/events.proto';

let copies: string[] = [];
afterEach(async () => {
  await Promise.all(copies.map((dir) => rm(dir, { recursive: true, force: true })));
  copies = [];
});

/** A copy of proto/ with events.proto edited by `edit`. */
async function protoWith(edit: (source: string) => string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wb-breaking-'));
  copies.push(dir);
  await cp(join(repoRoot, 'proto'), dir, { recursive: true });
  const file = join(dir, EVENTS_PROTO);
  const source = await readFile(file, 'utf8');
  const edited = edit(source);
  expect(edited, 'the edit changed events.proto').not.toBe(source);
  await writeFile(file, edited);
  return dir;
}

/** The incompatible changes buf breaking finds in dir; a comparison that did not run throws. */
function changesIn(dir: string): BreakingChange[] {
  const result = breakingChanges(dir);
  if ('error' in result) throw new Error(result.error);
  return result.changes;
}

describe('buf breaking against the released event contracts', () => {
  it('passes for proto/ as it is (bidder_id added under a new number)', () => {
    expect(changesIn(join(repoRoot, 'proto'))).toEqual([]);
  });

  it("fails when a field's type changes, naming the field and the rule", async () => {
    const dir = await protoWith((s) => s.replace('string user_id = 4;', 'int64 user_id = 4;'));
    expect(changesIn(dir)).toEqual([
      expect.objectContaining({
        file: EVENTS_PROTO,
        rule: 'FIELD_WIRE_JSON_COMPATIBLE_TYPE',
        message: expect.stringMatching(/"user_id" on message "BidPlaced" changed type from "string" to "int64"/),
      }),
    ]);
  });

  it('fails when a field is deleted without reserving its number and name', async () => {
    const dir = await protoWith((s) => s.replace(/\n {2}\/\/ The bidder's user id[^\n]*\n {2}string user_id = 4;/, ''));
    const changes = changesIn(dir);
    expect(changes.map((c) => c.rule).sort()).toEqual(['FIELD_NO_DELETE_UNLESS_NAME_RESERVED', 'FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED']);
    for (const c of changes) expect(c.message).toMatch(/"user_id" on message "BidPlaced" was deleted/);
  });

  it('fails when a field moves to another number: to buf, number 8 was deleted', async () => {
    const dir = await protoWith((s) => s.replace('string correlation_id = 8;', 'string correlation_id = 10;'));
    expect(changesIn(dir).map((c) => c.message)).toContainEqual(
      expect.stringMatching(/field "8" with name "correlation_id" on message "BidPlaced" was deleted without reserving the number "8"/),
    );
  });

  it('says it could not compare, rather than passing, when the proto does not compile', async () => {
    const dir = await protoWith((s) => s.replace('string bidder_id = 9;', 'string bidder_id = ;'));
    expect(breakingChanges(dir)).toEqual({ error: expect.stringMatching(/cannot compare proto\/auction\/events until it compiles: .*events\.proto:\d+/) });
  });
});
