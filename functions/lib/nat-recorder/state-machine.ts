import { RECORDING_LOG_FORMAT } from "./recording";

/**
 * The recorder's Step Functions definition (Amazon States Language). It is a constant: every
 * value that differs between workspaces (table, log group, roles, topic, durations) arrives in
 * the execution input under `settings`, put there by the EventBridge rule that starts it:
 *
 * ```json
 * { "alarmName": "flowtap-nat-traffic/nat-0123456789abcdef0", "alarmTime": "2026-01-01T00:00:00Z",
 *   "settings": { "table": "...", "logGroupName": "...", "deliverLogsRoleArn": "...", "recordingSeconds": 3600,
 *                 "maxRecordings": 1000000000, "topicArn": "...", "summaryFunction": "..." } }
 * ```
 *
 * Every path that created flow logs goes through FindRecordingFlowLogs and StopFlowLogs, which
 * find the execution's flow logs by tag (not by what the state remembers) and delete them.
 */
export function natFlowRecorderDefinition(): Record<string, unknown> {
  const key = { natGatewayId: { "S.$": "$.natGatewayId" } };
  const table = { "TableName.$": "$.settings.table" };
  const dynamoThrottling = {
    ErrorEquals: [
      "DynamoDB.ProvisionedThroughputExceededException",
      "DynamoDB.ThrottlingException",
      "DynamoDB.RequestLimitExceeded",
      "DynamoDB.InternalServerErrorException",
    ],
    IntervalSeconds: 1,
    MaxAttempts: 6,
    BackoffRate: 2,
    JitterStrategy: "FULL",
  };
  const ec2Throttling = {
    ErrorEquals: ["Ec2.RequestLimitExceeded", "Ec2.ServiceUnavailable", "Ec2.InternalError"],
    IntervalSeconds: 2,
    MaxAttempts: 8,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
    JitterStrategy: "FULL",
  };
  // Cleanup must not give up on a passing fault: it is what stops a recording.
  const persistent = { ErrorEquals: ["States.ALL"], IntervalSeconds: 2, MaxAttempts: 10, BackoffRate: 2, MaxDelaySeconds: 120, JitterStrategy: "FULL" };
  const publish = (next: string | undefined, subject: string, message: string) => ({
    Type: "Task",
    Resource: "arn:aws:states:::sns:publish",
    Parameters: { "TopicArn.$": "$.settings.topicArn", "Subject.$": subject, "Message.$": message },
    ResultPath: null,
    Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2 }],
    ...(next ? { Next: next } : { End: true }),
  });

  return {
    Comment: "flowtap nat-flow-recorder: record flow logs on a NAT gateway's ENIs while its traffic alarm is in ALARM",
    StartAt: "Identify",
    States: {
      Identify: {
        Type: "Pass",
        Comment: "The alarm's name ends with the NAT gateway id",
        Parameters: {
          "natGatewayId.$": "States.ArrayGetItem(States.StringSplit($.alarmName, '/'), 1)",
          "alarmName.$": "$.alarmName",
          "alarmTime.$": "$.alarmTime",
          "settings.$": "$.settings",
          "execution.$": "$$.Execution.Name",
        },
        Next: "ClaimRecording",
      },
      ClaimRecording: {
        Type: "Task",
        Comment: "Count the recording and mark the NAT gateway as recording, unless it already is or reached its maximum",
        Resource: "arn:aws:states:::aws-sdk:dynamodb:updateItem",
        Parameters: {
          ...table,
          Key: key,
          UpdateExpression: "SET recordings = if_not_exists(recordings, :zero) + :one, recording = :true, startedAt = :now, executionName = :exec REMOVE taskToken",
          ConditionExpression: "(attribute_not_exists(recording) OR recording = :false) AND (attribute_not_exists(recordings) OR recordings < :max)",
          ExpressionAttributeValues: {
            ":zero": { N: "0" },
            ":one": { N: "1" },
            ":true": { BOOL: true },
            ":false": { BOOL: false },
            ":max": { "N.$": "States.Format('{}', $.settings.maxRecordings)" },
            ":now": { "S.$": "$$.State.EnteredTime" },
            ":exec": { "S.$": "$.execution" },
          },
          ReturnValues: "ALL_NEW",
        },
        ResultSelector: { "count.$": "$.Attributes.recordings.N", "startedAt.$": "$.Attributes.startedAt.S" },
        ResultPath: "$.claim",
        Retry: [dynamoThrottling],
        Catch: [
          { ErrorEquals: ["DynamoDB.ConditionalCheckFailedException"], ResultPath: null, Next: "WhyNotRecording" },
          { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "NotifyFailure" },
        ],
        Next: "FindNatInterfaces",
      },
      WhyNotRecording: {
        Type: "Task",
        Resource: "arn:aws:states:::aws-sdk:dynamodb:getItem",
        Parameters: { ...table, Key: key, ConsistentRead: true },
        ResultPath: "$.current",
        Retry: [dynamoThrottling],
        Next: "AlreadyRecordingOrLimit",
      },
      AlreadyRecordingOrLimit: {
        Type: "Choice",
        Choices: [
          {
            And: [
              { Variable: "$.current.Item.recording.BOOL", IsPresent: true },
              { Variable: "$.current.Item.recording.BOOL", BooleanEquals: true },
            ],
            Next: "AlreadyRecording",
          },
        ],
        Default: "LimitReached",
      },
      AlreadyRecording: { Type: "Succeed", Comment: "Another execution records this NAT gateway" },
      LimitReached: { Type: "Succeed", Comment: "The NAT gateway has had its maximum of recordings" },
      FindNatInterfaces: {
        Type: "Task",
        // A secondary address is listed with its ENI's id: one flow log per ENI, not per address.
        Comment: "Every ENI of the NAT gateway, not only the first, each once",
        Resource: "arn:aws:states:::aws-sdk:ec2:describeNatGateways",
        Parameters: { "NatGatewayIds.$": "States.Array($.natGatewayId)" },
        ResultSelector: { "ids.$": "States.ArrayUnique($.NatGateways[0].NatGatewayAddresses[*].NetworkInterfaceId)" },
        ResultPath: "$.interfaces",
        Retry: [ec2Throttling],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "ReleaseClaim" }],
        Next: "StartFlowLogs",
      },
      StartFlowLogs: {
        Type: "Task",
        Resource: "arn:aws:states:::aws-sdk:ec2:createFlowLogs",
        Parameters: {
          "ResourceIds.$": "$.interfaces.ids",
          ResourceType: "NetworkInterface",
          TrafficType: "ALL",
          LogDestinationType: "cloud-watch-logs",
          "LogGroupName.$": "$.settings.logGroupName",
          "DeliverLogsPermissionArn.$": "$.settings.deliverLogsRoleArn",
          LogFormat: RECORDING_LOG_FORMAT,
          MaxAggregationInterval: 60,
          "ClientToken.$": "$.execution",
          TagSpecifications: [
            {
              ResourceType: "vpc-flow-log",
              Tags: [
                { Key: "ManagedBy", Value: "flowtap" },
                { Key: "flowtap:execution", "Value.$": "$.execution" },
                { Key: "flowtap:nat-gateway-id", "Value.$": "$.natGatewayId" },
              ],
            },
          ],
        },
        ResultSelector: { "ids.$": "$.FlowLogIds" },
        ResultPath: "$.flowLogs",
        Retry: [ec2Throttling],
        // A failed call may still have created some: clean up by tag.
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "FindRecordingFlowLogs" }],
        Next: "WaitForAlarmToClear",
      },
      WaitForAlarmToClear: {
        Type: "Task",
        Comment: "Store the task token; the alarm's OK event resumes the execution, or the recording time runs out",
        Resource: "arn:aws:states:::aws-sdk:dynamodb:updateItem.waitForTaskToken",
        Parameters: {
          ...table,
          Key: key,
          UpdateExpression: "SET taskToken = :token",
          ConditionExpression: "executionName = :exec",
          ExpressionAttributeValues: { ":token": { "S.$": "$$.Task.Token" }, ":exec": { "S.$": "$.execution" } },
        },
        TimeoutSecondsPath: "$.settings.recordingSeconds",
        ResultPath: "$.cleared",
        Catch: [
          { ErrorEquals: ["States.Timeout"], ResultPath: "$.timedOut", Next: "FindRecordingFlowLogs" },
          { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "FindRecordingFlowLogs" },
        ],
        Next: "FindRecordingFlowLogs",
      },
      FindRecordingFlowLogs: {
        Type: "Task",
        Resource: "arn:aws:states:::aws-sdk:ec2:describeFlowLogs",
        Parameters: { Filter: [{ Name: "tag:flowtap:execution", "Values.$": "States.Array($.execution)" }] },
        ResultSelector: { "ids.$": "$.FlowLogs[*].FlowLogId" },
        ResultPath: "$.recorded",
        Retry: [persistent],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.cleanupError", Next: "NotifyCleanupFailure" }],
        Next: "AnyFlowLogs",
      },
      AnyFlowLogs: {
        Type: "Choice",
        Choices: [{ Variable: "$.recorded.ids[0]", IsPresent: true, Next: "StopFlowLogs" }],
        Default: "ReleaseClaim",
      },
      StopFlowLogs: {
        Type: "Task",
        Comment: "Stop recording; the recorded logs stay in the log group",
        Resource: "arn:aws:states:::aws-sdk:ec2:deleteFlowLogs",
        Parameters: { "FlowLogIds.$": "$.recorded.ids" },
        ResultSelector: { "unsuccessful.$": "$.Unsuccessful" },
        ResultPath: "$.stopped",
        Retry: [ec2Throttling, persistent],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.cleanupError", Next: "NotifyCleanupFailure" }],
        Next: "AllStopped",
      },
      AllStopped: {
        Type: "Choice",
        Choices: [{ Variable: "$.stopped.unsuccessful[0]", IsPresent: true, Next: "NotifyCleanupFailure" }],
        Default: "ReleaseClaim",
      },
      ReleaseClaim: {
        Type: "Task",
        Resource: "arn:aws:states:::aws-sdk:dynamodb:updateItem",
        Parameters: {
          ...table,
          Key: key,
          UpdateExpression: "SET recording = :false, endedAt = :now REMOVE taskToken",
          ConditionExpression: "executionName = :exec",
          ExpressionAttributeValues: { ":false": { BOOL: false }, ":now": { "S.$": "$$.State.EnteredTime" }, ":exec": { "S.$": "$.execution" } },
        },
        ResultPath: null,
        Retry: [dynamoThrottling, persistent],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.cleanupError", Next: "NotifyCleanupFailure" }],
        Next: "RecordedOrFailed",
      },
      RecordedOrFailed: {
        Type: "Choice",
        Choices: [{ Variable: "$.error", IsPresent: true, Next: "NotifyFailure" }],
        Default: "Summarize",
      },
      Summarize: {
        Type: "Task",
        Comment: "Top talkers of the recording window, by a Logs Insights query",
        Resource: "arn:aws:states:::lambda:invoke",
        Parameters: {
          "FunctionName.$": "$.settings.summaryFunction",
          Payload: {
            "natGatewayId.$": "$.natGatewayId",
            "alarmName.$": "$.alarmName",
            "logGroupName.$": "$.settings.logGroupName",
            "startTime.$": "$.claim.startedAt",
            "endTime.$": "$$.State.EnteredTime",
          },
        },
        ResultSelector: { "subject.$": "$.Payload.subject", "message.$": "$.Payload.message" },
        ResultPath: "$.summary",
        Retry: [{ ErrorEquals: ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"], IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2 }],
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.queryError", Next: "SummarizeWithoutQuery" }],
        Next: "Notify",
      },
      SummarizeWithoutQuery: {
        Type: "Pass",
        Parameters: {
          "subject.$": "States.Format('flowtap: NAT gateway {} traffic recorded', $.natGatewayId)",
          "message.$":
            "States.Format('flowtap recorded VPC flow logs on NAT gateway {} from {} to {}, while alarm {} was in ALARM. The records are in log group {}. The top-talkers query failed ({}); run the saved query flowtap/nat-top-talkers in CloudWatch Logs Insights over that window.', $.natGatewayId, $.claim.startedAt, $$.State.EnteredTime, $.alarmName, $.settings.logGroupName, $.queryError.Error)",
        },
        ResultPath: "$.summary",
        Next: "Notify",
      },
      Notify: publish(undefined, "$.summary.subject", "$.summary.message"),
      NotifyFailure: publish(
        "RecordingFailed",
        "States.Format('flowtap: NAT gateway {} recording failed', $.natGatewayId)",
        "States.Format('flowtap could not record NAT gateway {} for alarm {}: {} ({}). No flow log of this attempt is left recording.', $.natGatewayId, $.alarmName, $.error.Error, $.error.Cause)",
      ),
      RecordingFailed: { Type: "Fail", Error: "RecordingFailed", Cause: "see the notification and the execution history" },
      NotifyCleanupFailure: publish(
        "CleanupFailed",
        "States.Format('flowtap: flow logs of NAT gateway {} still recording', $.natGatewayId)",
        "States.Format('ACTION NEEDED: flowtap could not stop or release the recording of NAT gateway {} (execution {}). Delete the flow logs tagged flowtap:execution={} (aws ec2 describe-flow-logs --filter Name=tag:flowtap:execution,Values={}), and set recording=false for {} in the recorder table.', $.natGatewayId, $.execution, $.execution, $.execution, $.natGatewayId)",
      ),
      CleanupFailed: { Type: "Fail", Error: "CleanupFailed", Cause: "flow logs may still be recording; see the notification" },
    },
  };
}
