// The region generator (design §2): what a stubbed and a kept region render to, and the
// marker mistakes it refuses with the file and line.
import { describe, expect, it } from 'vitest';
import { listRegions, readTreeRegions, RegionSyntaxError, renderFile } from '#workbook/regions.ts';

const source = [
  'const a = 1;',
  '// #region m2: outer task',
  'outer();',
  '  // #region m3: inner task',
  '  inner();',
  '  // #stub',
  '  // naiveInner();',
  '  // #endregion',
  '// #stub',
  "// throw new TodoError('m2', 'outer task');",
  '// #endregion',
  'const b = 2;',
].join('\n');

describe('regions', () => {
  it('keeps the reference of milestones not stubbed, drops #stub sections, keeps the markers', () => {
    expect(renderFile('f.ts', source, new Set())).toBe(
      [
        'const a = 1;',
        '// #region m2: outer task',
        'outer();',
        '  // #region m3: inner task',
        '  inner();',
        '  // #endregion',
        '// #endregion',
        'const b = 2;',
      ].join('\n'),
    );
  });

  it('replaces a stubbed region with its uncommented stub, inner regions included', () => {
    expect(renderFile('f.ts', source, new Set([2, 3]))).toBe(
      ['const a = 1;', '// #region m2: outer task', "throw new TodoError('m2', 'outer task');", '// #endregion', 'const b = 2;'].join('\n'),
    );
  });

  it('stubs an inner region alone when only its milestone is stubbed', () => {
    expect(renderFile('f.ts', source, new Set([3]))).toContain('  // #region m3: inner task\n  naiveInner();\n  // #endregion');
  });

  it('handles SQL comments the same way', () => {
    const sql = ['-- Up Migration', '-- #region m1: tables', 'CREATE TABLE t ();', '-- #stub', '-- -- TODO(m1): create t', '-- #endregion'].join('\n');
    expect(renderFile('m.sql', sql, new Set([1]))).toBe(['-- Up Migration', '-- #region m1: tables', '-- TODO(m1): create t', '-- #endregion'].join('\n'));
  });

  it('handles # comments (Dockerfile, YAML) the same way, indentation kept', () => {
    const yaml = [
      'services:',
      '  # #region m6: the app',
      '  app:',
      '    image: x',
      '  # #stub',
      '  # # TODO(m6): the app service',
      '  # app:',
      '  #   image: todo',
      '  # #endregion',
    ].join('\n');
    expect(renderFile('compose.yml', yaml, new Set([6]))).toBe(
      ['services:', '  # #region m6: the app', '  # TODO(m6): the app service', '  app:', '    image: todo', '  # #endregion'].join('\n'),
    );
    expect(renderFile('compose.yml', yaml, new Set())).toBe(['services:', '  # #region m6: the app', '  app:', '    image: x', '  # #endregion'].join('\n'));
    expect(readTreeRegions('compose.yml', renderFile('compose.yml', yaml, new Set([6])))).toMatchObject([{ milestone: 6, task: 'the app', start: 1, end: 5 }]);
  });

  it('lists regions with milestone, task, body and stub; reads them back from a generated tree', () => {
    const regions = listRegions('f.ts', source);
    expect(regions.map((r) => [r.milestone, r.task, r.line])).toEqual([
      [2, 'outer task', 2],
      [3, 'inner task', 4],
    ]);
    expect(regions[1]?.stub).toBe('  naiveInner();');
    const tree = readTreeRegions('f.ts', renderFile('f.ts', source, new Set([3])));
    expect(tree.map((r) => [r.milestone, r.body])).toEqual([
      [2, 'outer();\n  // #region m3: inner task\n  naiveInner();\n  // #endregion'],
      [3, '  naiveInner();'],
    ]);
  });

  it.each([
    ['a region without #stub', '// #region m1: x\ncode();\n// #endregion', /f\.ts:3: region "m1: x" \(line 1\) has no #stub section/],
    ['a region never closed', '// #region m1: x\n// #stub\n// y();', /f\.ts:1: region "m1: x" is never closed/],
    ['an #endregion alone', 'a();\n// #endregion', /f\.ts:2: #endregion without a #region/],
    ['a marker without a milestone', '// #region fix this', /f\.ts:1: expected "\/\/ #region mN: what the learner does"/],
    ['an earlier milestone inside a later one', '// #region m3: a\n// #region m2: b', /f\.ts:2: a milestone-2 region cannot sit inside a milestone-3 region/],
    ['a stub line that is not commented', '// #region m1: x\n// #stub\nnot commented\n// #endregion', /f\.ts:3: stub lines must start with "\/\/"/],
    [
      'a TodoError for another milestone',
      "// #region m1: x\n// #stub\n// throw new TodoError('m2', 'x');\n// #endregion",
      /f\.ts:1: the stub of a milestone-1 region throws a TodoError for m2/,
    ],
  ])('refuses %s, naming file and line', (_case, text, message) => {
    expect(() => renderFile('f.ts', text, new Set())).toThrow(RegionSyntaxError);
    expect(() => renderFile('f.ts', text, new Set())).toThrow(message);
  });
});
