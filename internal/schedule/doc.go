// Package schedule holds EventBridge's scheduled rules: the parser of
// ScheduleExpression (rate and cron, exactly as AWS accepts them), the
// computation of a schedule's next firing, and the Scheduler that fires the
// scheduled rules of the default bus.
//
// # Expressions
//
// rate(value unit): value a positive integer, unit minute, hour or day,
// singular exactly when value is 1 (rate(1 hour), rate(5 hours)); nothing
// else, not even a space more, is accepted.
//
// cron(minutes hours day-of-month month day-of-week year): six fields
// separated by single spaces, in UTC, with AWS's values and wildcards:
//
//	minutes       0-59                 , - * /
//	hours         0-23                 , - * /
//	day-of-month  1-31                 , - * / ? L W
//	month         1-12 or JAN-DEC      , - * /
//	day-of-week   1-7 or SUN-SAT       , - * / ? L #   (SUN is 1)
//	year          1970-2199            , - * /
//
// Exactly one of day-of-month and day-of-week is '?'. A range whose end is
// below its start wraps around (NOV-FEB, FRI-MON, 22-2), except in the
// year field. Steps are start/step, first-last/step or */step. The special
// forms stand alone in their field: day-of-month L (last day), LW (last
// weekday), nW (the weekday nearest day n, not leaving the month);
// day-of-week L (Saturday), nL (the last day n of the month), n#k (the k-th
// day n of the month, k 1-5). Month and weekday names are accepted in any
// case.
//
// # Firing
//
// The [Scheduler] follows the catalog's rules. Each enabled rule of the
// default bus with a ScheduleExpression fires at the minute it is due: a
// "Scheduled Event" from "aws.events" whose resources are the rule's ARN
// and whose time is the scheduled time goes to that rule's targets (and no
// other rule's). Several Conveyor processes may share one NATS cluster: a
// firing is claimed with a compare-and-set write of the rule's last firing
// time in a KV bucket before the event is sent, and the event's id is
// derived from the rule and the scheduled time, so a firing that two
// processes race for is still delivered once. After downtime, a rule fires
// at most once for the firings it missed (the latest of them). Time comes
// from a clock.Clock, so tests drive the scheduler with a clocktest.Manual.
package schedule
