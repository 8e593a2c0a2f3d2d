// Paging through listJobs: one list per view (status, batch), older pages on demand by nextToken.

export class Pager {
  /** `fetchPage(view, nextToken)` resolves to `{ items, nextToken }`. */
  constructor(fetchPage) {
    this.fetchPage = fetchPage;
    this.view = null;
    this.token = null;
    this.done = false;
    this.loading = false;
    this.generation = 0;
  }

  /** Start over for a new view; resolves to its first page (null if a newer view replaced it). */
  reset(view) {
    this.view = view;
    this.token = null;
    this.done = false;
    this.generation += 1;
    this.loading = false;
    return this.more();
  }

  /** The next older page, or null when there is none, one is loading, or the view changed meanwhile. */
  async more() {
    if (this.done || this.loading) return null;
    const generation = this.generation;
    this.loading = true;
    try {
      const page = await this.fetchPage(this.view, this.token);
      if (generation !== this.generation) return null; // a late answer for a view left behind
      this.token = page.nextToken ?? null;
      this.done = this.token === null;
      return page.items;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }
}
