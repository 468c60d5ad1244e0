// Splits a streamed application/x-ndjson body into parsed objects as chunks
// arrive (a line may be cut across chunks). Blank lines are skipped; a line
// that is not JSON becomes {error} so one bad line does not stop the stream.
export class NdjsonSplitter {
  private buf = '';

  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const v = parseLine(line);
      if (v !== undefined) out.push(v);
    }
    return out;
  }

  /** The last line when the stream ended without a newline. */
  end(): unknown[] {
    const v = parseLine(this.buf);
    this.buf = '';
    return v === undefined ? [] : [v];
  }
}

function parseLine(line: string): unknown {
  const t = line.trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return { error: `unreadable line: ${t.slice(0, 80)}` };
  }
}
