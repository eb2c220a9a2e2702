// Package function invokes the functions that Lambda ARN targets name,
// arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]: local
// functions (a command Conveyor runs, the embedded default) and, when an
// endpoint is configured, functions behind the AWS Lambda Invoke API.
//
// # Local functions
//
// A local function is a name and a command ([Spec]; `conveyor serve
// --function notify=./notify.sh`). A target whose ARN ends in
// :function:notify runs the command with the event (after the target's
// transform) on standard input. The ARN's region, account and qualifier do
// not matter: the name picks the function. The command is a program and its
// arguments, split as a shell splits words (see [ParseSpec]) but run without
// a shell; a program ending in .sh that cannot run by itself (no "#!" line,
// or not executable) is run by /bin/sh.
//
// The function runs in Conveyor's working directory with Conveyor's
// environment plus the variables Lambda sets (AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_FUNCTION_VERSION=$LATEST, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_STREAM_NAME, AWS_REGION,
// AWS_DEFAULT_REGION,
// AWS_EXECUTION_ENV=Conveyor) and Conveyor's own about the invocation:
// CONVEYOR_REQUEST_ID (new for each run), CONVEYOR_FUNCTION_ARN (the
// target's ARN), CONVEYOR_DEADLINE_MS (when it will be killed, Unix
// milliseconds), CONVEYOR_EVENT_ID, CONVEYOR_EVENT_BUS_NAME,
// CONVEYOR_RULE_ARN, CONVEYOR_TARGET_ID and CONVEYOR_ATTEMPT (1 for the
// first delivery attempt).
//
// Exit status 0 is success. Anything else — a non-zero status, a signal,
// the timeout (Config.Timeout, default [DefaultTimeout]; the process group
// is killed), a command that cannot start — is a failed invocation with
// ERROR_CODE [CodeFunctionError], retried and dead-lettered by the target's
// RetryPolicy and DeadLetterConfig like any other. Each line the function
// writes on standard output or error is logged (slog, message "function
// output", with the function's name, the request id and the stream); each
// run ends with a "function finished" or "function failed" record with its
// duration. At most Config.Concurrency runs of one function (default
// [DefaultConcurrency]) happen at once; further invocations wait for a free
// slot, and fail with THROTTLING (retried) if the delivery's time runs out
// first.
//
// # Remote functions
//
// With a [Remote] (`--lambda-endpoint URL`), a function that is not local is
// invoked through the Lambda API, as EventBridge invokes it: Invoke with
// InvocationType Event (POST /2015-03-31/functions/<ARN>/invocations,
// X-Amz-Invocation-Type: Event, the event as the body), signed with SigV4
// for service lambda. 202 is success; 429 (THROTTLING), 5xx and network
// failures are retried; other answers (ResourceNotFoundException: RESOURCE_NOT_FOUND,
// 401/403: NO_PERMISSIONS, other 4xx: SDK_CLIENT_ERROR) are final and go to
// the dead-letter queue at once.
//
// A function that is neither local nor remote fails at once with
// RESOURCE_NOT_FOUND ("ResourceNotFoundException: Function not found: …").
package function
