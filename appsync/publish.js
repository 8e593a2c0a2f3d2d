// [7] -> [8] publishJobUpdate / publishBatchUpdate on a NONE data source: no Lambda, no store.
// The update passes through as the mutation's result, which fires the @aws_subscribe
// subscriptions; AppSync filters them on these (response) fields.
export function request(ctx) {
  return { payload: ctx.args.update };
}

export function response(ctx) {
  return ctx.result;
}
