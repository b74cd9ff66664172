// Money on the page: the API carries int64 cents (bigint here, as on the server); a person
// types and reads dollars. No floats anywhere: "12.30" is parsed digit by digit.

/** 1234n → "$12.34". */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  const dollars = (abs / 100n).toLocaleString('en-US');
  return `${sign}$${dollars}.${String(abs % 100n).padStart(2, '0')}`;
}

/** "12", "12.3", "12.30", "$1,200.50" → cents; undefined for anything else. */
export function parseDollars(text: string): bigint | undefined {
  const match = /^\$?\s*(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const whole = BigInt(match[1]!.replaceAll(',', ''));
  const fraction = BigInt((match[2] ?? '0').padEnd(2, '0'));
  return whole * 100n + fraction;
}
