// Queries and mutations over HTTP with the API key (AppSync carries subscriptions only on the socket).

const JOB = "jobId status payload result error batchId transformJobName metadata submittedAt updatedAt completedAt attempt";
const BATCH = "batchId status jobCount completedCount failedCount transformJobName error createdAt updatedAt";

// Every move, in groups; an end (COMPLETED, FAILED, CANCELLED) carries its jobs whole in `jobs`.
export const ON_JOBS_MOVED = `subscription OnJobsMoved { onJobsMoved { status jobIds batchId transformJobName updatedAt jobs { ${JOB} } } }`;
export const ON_BATCH_UPDATED = `subscription OnBatchUpdated { onBatchUpdated { ${BATCH} } }`;

/** A GraphQL answer with errors: `.errors` keeps them (errorType, message, errorInfo) for the caller. */
export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
  }
}

export class Api {
  constructor({ graphqlUrl, apiKey }) {
    this.graphqlUrl = graphqlUrl;
    this.apiKey = apiKey;
  }

  async request(query, variables = {}) {
    let res;
    try {
      res = await fetch(this.graphqlUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": this.apiKey },
        body: JSON.stringify({ query, variables }),
      });
    } catch (err) {
      throw new GraphQLError([{ message: `cannot reach ${this.graphqlUrl} (${err.message})` }]);
    }
    let body;
    try {
      body = await res.json();
    } catch {
      throw new GraphQLError([{ message: `HTTP ${res.status} from ${this.graphqlUrl}` }]);
    }
    if (body.errors?.length) throw new GraphQLError(body.errors);
    return body.data;
  }

  /** One page of jobs, newest first: `{ items, nextToken }`. */
  async listJobs({ status = null, batchId = null, limit = 200, nextToken = null } = {}) {
    const q = `query ($status: JobStatus, $batchId: ID, $limit: Int, $nextToken: String) {
      listJobs(status: $status, batchId: $batchId, limit: $limit, nextToken: $nextToken) { items { ${JOB} } nextToken } }`;
    return (await this.request(q, { status, batchId, limit, nextToken })).listJobs;
  }

  async getJob(jobId) {
    return (await this.request(`query ($jobId: ID!) { getJob(jobId: $jobId) { ${JOB} } }`, { jobId })).getJob;
  }

  async listBatches({ limit = 50 } = {}) {
    const q = `query ($limit: Int) { listBatches(limit: $limit) { items { ${BATCH} } } }`;
    return (await this.request(q, { limit })).listBatches.items;
  }

  async getBatch(batchId) {
    const q = `query ($batchId: ID!) { getBatch(batchId: $batchId) { ${BATCH} } }`;
    return (await this.request(q, { batchId })).getBatch;
  }

  async jobCounts() {
    const q = "query { jobCounts { queued batched processing completed failed cancelled total } }";
    return (await this.request(q)).jobCounts;
  }

  /** A file of the local server's, fetched with the key (a plain link could not send the header). */
  async download(url) {
    const res = await fetch(url, { headers: { "x-api-key": this.apiKey } });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new GraphQLError(body?.errors ?? [{ message: `HTTP ${res.status} from ${url}` }]);
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? "download";
    return { name, blob: await res.blob() };
  }

  async submitJob(payload) {
    const q = `mutation ($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB} } }`;
    return (await this.request(q, { input: { payload } })).submitJob;
  }

  async submitJobs(payloads) {
    const q = `mutation ($inputs: [SubmitJobInput!]!) { submitJobs(inputs: $inputs) { ${JOB} } }`;
    return (await this.request(q, { inputs: payloads.map((payload) => ({ payload })) })).submitJobs;
  }

  async cancelJob(jobId) {
    const q = `mutation ($jobId: ID!) { cancelJob(jobId: $jobId) { ${JOB} } }`;
    return (await this.request(q, { jobId })).cancelJob;
  }

  /** FAILED jobs queued again as new attempts (their `attempt` one higher). */
  async retryJobs(jobIds) {
    const q = `mutation ($jobIds: [ID!]!) { retryJobs(jobIds: $jobIds) { ${JOB} } }`;
    return (await this.request(q, { jobIds })).retryJobs;
  }
}
