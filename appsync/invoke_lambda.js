// [1] AppSync -> resolver Lambda, for every client field (SAM makes every resolver a pipeline).
// The request hands the Lambda the same event a direct Lambda resolver gets, so powertools'
// AppSyncResolver routes it. The response turns the Lambda's domain-error answer
// {errorType, errorMessage} into a GraphQL error with that errorType: a Lambda that raises
// shows up only as "Lambda:Unhandled", and the client could not tell a bad input from a bug.
import { util } from '@aws-appsync/utils';

export function request(ctx) {
  return {
    operation: 'Invoke',
    payload: {
      arguments: ctx.arguments,
      identity: ctx.identity,
      source: ctx.source,
      request: ctx.request,
      info: ctx.info,
      prev: ctx.prev,
      stash: ctx.stash,
    },
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  const result = ctx.result;
  if (result && typeof result === 'object' && typeof result.errorType === 'string') {
    util.error(result.errorMessage, result.errorType);
  }
  return result;
}
