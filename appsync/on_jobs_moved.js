// [8] onJobsMoved's subscription resolver, on a NONE data source: it runs once when a client
// subscribes and sets an enhanced filter. A JobsMoved update names up to 1,000 jobs in jobIds, so a
// client watching one job needs `jobIds contains jobId`, which argument (equality) filtering cannot
// express. Once a resolver sets a filter, AppSync filters on it alone (the arguments are not matched
// against the payload as well; JobsMoved has no jobId field), so it restates batchId and status too.
// No argument: no filter, every update (as onJobUpdated with no argument). See docs/architecture.md.
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  return { payload: null };
}

export function response(ctx) {
  const { jobId, batchId, status } = ctx.args;
  const filter = {};
  if (jobId) {
    filter.jobIds = { contains: jobId };
  }
  if (batchId) {
    filter.batchId = { eq: batchId };
  }
  if (status) {
    filter.status = { eq: status };
  }
  if (Object.keys(filter).length > 0) {
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter(filter));
  }
  return null;
}
