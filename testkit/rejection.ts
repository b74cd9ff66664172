/**
 * What a promise was rejected with, as { name } (plus { field } for errors that name one),
 * or a sentence saying it resolved: a value an assertion can compare and a learner can read.
 */
export async function rejection(promise: Promise<unknown>): Promise<{ name: string; field?: string } | string> {
  try {
    await promise;
    return 'resolved: the input was accepted';
  } catch (err) {
    const e = err as { name?: string; field?: unknown };
    return typeof e.field === 'string' ? { name: String(e.name), field: e.field } : { name: String(e.name) };
  }
}
