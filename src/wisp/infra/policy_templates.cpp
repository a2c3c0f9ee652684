// SAM's policy templates: the statements each grants, in SAM's form (Fn::Sub patterns over the
// template's parameters). The table states what AWS publishes as the SAM policy template list;
// tests/integration/test_infra.py checks every entry against aws-sam-translator's.

#include <wisp/infra/infra.hpp>
#include <wisp/support/strings.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

namespace wisp::infra {

namespace json = boost::json;

namespace {

struct StatementDef {
  // Space-separated actions; a leading '!' means SAM writes the one action as a string.
  std::string_view actions;
  // Space-separated resource patterns; a leading "[ " means SAM writes a list.
  std::string_view resources;
  std::string_view condition_operator = {};
  std::string_view condition_key = {};
  std::string_view condition_value = {};
};

struct TemplateDef {
  std::string_view name;
  std::string_view parameters; // space-separated
  std::vector<StatementDef> statements;
};

const std::vector<TemplateDef>& table() {
  static const std::vector<TemplateDef> k_table = {
      {"AMIDescribePolicy", "", {{"ec2:DescribeImages", "*"}}},
      {"AWSSecretsManagerGetSecretValuePolicy",
       "SecretArn",
       {{"secretsmanager:GetSecretValue", "${SecretArn}"}}},
      {"AWSSecretsManagerRotationPolicy",
       "FunctionName",
       {{"secretsmanager:DescribeSecret secretsmanager:GetSecretValue "
         "secretsmanager:PutSecretValue secretsmanager:UpdateSecretVersionStage",
         "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*",
         "StringEquals", "secretsmanager:resource/AllowRotationLambdaArn",
         "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${FunctionName}"},
        {"secretsmanager:GetRandomPassword", "*"}}},
      {"AcmGetCertificatePolicy", "CertificateArn", {{"acm:GetCertificate", "${CertificateArn}"}}},
      {"AthenaQueryPolicy",
       "WorkGroupName",
       {{"athena:ListWorkGroups athena:GetExecutionEngine athena:GetExecutionEngines "
         "athena:GetNamespace athena:GetCatalogs athena:GetNamespaces athena:GetTables "
         "athena:GetTable",
         "*"},
        {"athena:StartQueryExecution athena:GetQueryResults athena:DeleteNamedQuery "
         "athena:GetNamedQuery athena:ListQueryExecutions athena:StopQueryExecution "
         "athena:GetQueryResultsStream athena:ListNamedQueries athena:CreateNamedQuery "
         "athena:GetQueryExecution athena:BatchGetNamedQuery athena:BatchGetQueryExecution "
         "athena:GetWorkGroup",
         "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/"
         "${WorkGroupName}"}}},
      {"CloudFormationDescribeStacksPolicy",
       "",
       {{"cloudformation:DescribeStacks",
         "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*"}}},
      {"CloudWatchDashboardPolicy",
       "",
       {{"cloudwatch:GetDashboard cloudwatch:ListDashboards cloudwatch:PutDashboard "
         "cloudwatch:ListMetrics",
         "*"}}},
      {"CloudWatchDescribeAlarmHistoryPolicy", "", {{"cloudwatch:DescribeAlarmHistory", "*"}}},
      {"CloudWatchPutMetricPolicy", "", {{"cloudwatch:PutMetricData", "*"}}},
      {"CodeCommitCrudPolicy",
       "RepositoryName",
       {{"codecommit:GitPull codecommit:GitPush codecommit:CreateBranch codecommit:DeleteBranch "
         "codecommit:GetBranch codecommit:ListBranches codecommit:MergeBranchesByFastForward "
         "codecommit:MergeBranchesBySquash codecommit:MergeBranchesByThreeWay "
         "codecommit:UpdateDefaultBranch codecommit:BatchDescribeMergeConflicts "
         "codecommit:CreateUnreferencedMergeCommit codecommit:DescribeMergeConflicts "
         "codecommit:GetMergeCommit codecommit:GetMergeOptions codecommit:BatchGetPullRequests "
         "codecommit:CreatePullRequest codecommit:DescribePullRequestEvents "
         "codecommit:GetCommentsForPullRequest codecommit:GetCommitsFromMergeBase "
         "codecommit:GetMergeConflicts codecommit:GetPullRequest codecommit:ListPullRequests "
         "codecommit:MergePullRequestByFastForward codecommit:MergePullRequestBySquash "
         "codecommit:MergePullRequestByThreeWay codecommit:PostCommentForPullRequest "
         "codecommit:UpdatePullRequestDescription codecommit:UpdatePullRequestStatus "
         "codecommit:UpdatePullRequestTitle codecommit:DeleteFile codecommit:GetBlob "
         "codecommit:GetFile codecommit:GetFolder codecommit:PutFile "
         "codecommit:DeleteCommentContent codecommit:GetComment "
         "codecommit:GetCommentsForComparedCommit codecommit:PostCommentForComparedCommit "
         "codecommit:PostCommentReply codecommit:UpdateComment codecommit:BatchGetCommits "
         "codecommit:CreateCommit codecommit:GetCommit codecommit:GetCommitHistory "
         "codecommit:GetDifferences codecommit:GetObjectIdentifier codecommit:GetReferences "
         "codecommit:GetTree codecommit:GetRepository codecommit:UpdateRepositoryDescription "
         "codecommit:ListTagsForResource codecommit:TagResource codecommit:UntagResource "
         "codecommit:GetRepositoryTriggers codecommit:PutRepositoryTriggers "
         "codecommit:TestRepositoryTriggers codecommit:GetBranch codecommit:GetCommit "
         "codecommit:UploadArchive codecommit:GetUploadArchiveStatus "
         "codecommit:CancelUploadArchive",
         "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"}}},
      {"CodeCommitReadPolicy",
       "RepositoryName",
       {{"codecommit:GitPull codecommit:GetBranch codecommit:ListBranches "
         "codecommit:BatchDescribeMergeConflicts codecommit:DescribeMergeConflicts "
         "codecommit:GetMergeCommit codecommit:GetMergeOptions codecommit:BatchGetPullRequests "
         "codecommit:DescribePullRequestEvents codecommit:GetCommentsForPullRequest "
         "codecommit:GetCommitsFromMergeBase codecommit:GetMergeConflicts "
         "codecommit:GetPullRequest codecommit:ListPullRequests codecommit:GetBlob "
         "codecommit:GetFile codecommit:GetFolder codecommit:GetComment "
         "codecommit:GetCommentsForComparedCommit codecommit:BatchGetCommits codecommit:GetCommit "
         "codecommit:GetCommitHistory codecommit:GetDifferences codecommit:GetObjectIdentifier "
         "codecommit:GetReferences codecommit:GetTree codecommit:GetRepository "
         "codecommit:ListTagsForResource codecommit:GetRepositoryTriggers "
         "codecommit:TestRepositoryTriggers codecommit:GetBranch codecommit:GetCommit "
         "codecommit:GetUploadArchiveStatus",
         "arn:${AWS::Partition}:codecommit:${AWS::Region}:${AWS::AccountId}:${RepositoryName}"}}},
      {"CodePipelineLambdaExecutionPolicy",
       "",
       {{"codepipeline:PutJobSuccessResult codepipeline:PutJobFailureResult", "*"}}},
      {"CodePipelineReadOnlyPolicy",
       "PipelineName",
       {{"codepipeline:ListPipelineExecutions",
         "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${PipelineName}"}}},
      {"ComprehendBasicAccessPolicy",
       "",
       {{"comprehend:BatchDetectKeyPhrases comprehend:DetectDominantLanguage "
         "comprehend:DetectEntities comprehend:BatchDetectEntities comprehend:DetectKeyPhrases "
         "comprehend:DetectSentiment comprehend:BatchDetectDominantLanguage "
         "comprehend:BatchDetectSentiment",
         "*"}}},
      {"CostExplorerReadOnlyPolicy",
       "",
       {{"ce:GetCostAndUsage ce:GetDimensionValues ce:GetReservationCoverage "
         "ce:GetReservationPurchaseRecommendation ce:GetReservationUtilization ce:GetTags",
         "*"}}},
      {"DynamoDBBackupFullAccessPolicy",
       "TableName",
       {{"dynamodb:CreateBackup dynamodb:DescribeContinuousBackups",
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"},
        {"dynamodb:DeleteBackup dynamodb:DescribeBackup dynamodb:ListBackups",
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}/"
         "backup/*"}}},
      {"DynamoDBCrudPolicy",
       "TableName",
       {{"dynamodb:GetItem dynamodb:DeleteItem dynamodb:PutItem dynamodb:Scan dynamodb:Query "
         "dynamodb:UpdateItem dynamodb:BatchWriteItem dynamodb:BatchGetItem dynamodb:DescribeTable "
         "dynamodb:ConditionCheckItem",
         "[ arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName} "
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}/index/"
         "*"}}},
      {"DynamoDBReadPolicy",
       "TableName",
       {{"dynamodb:GetItem dynamodb:Scan dynamodb:Query dynamodb:BatchGetItem "
         "dynamodb:DescribeTable",
         "[ arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName} "
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}/index/"
         "*"}}},
      {"DynamoDBReconfigurePolicy",
       "TableName",
       {{"dynamodb:UpdateTable",
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"}}},
      {"DynamoDBRestoreFromBackupPolicy",
       "TableName",
       {{"dynamodb:RestoreTableFromBackup", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::"
                                            "AccountId}:table/${TableName}/backup/*"},
        {"dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:GetItem dynamodb:Query "
         "dynamodb:Scan dynamodb:BatchWriteItem",
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}"}}},
      {"DynamoDBStreamReadPolicy",
       "StreamName TableName",
       {{"dynamodb:DescribeStream dynamodb:GetRecords dynamodb:GetShardIterator",
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}/"
         "stream/${StreamName}"},
        {"dynamodb:ListStreams", "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
                                 "table/${TableName}/stream/*"}}},
      {"DynamoDBWritePolicy",
       "TableName",
       {{"dynamodb:PutItem dynamodb:UpdateItem dynamodb:BatchWriteItem",
         "[ arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName} "
         "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${TableName}/index/"
         "*"}}},
      {"EC2CopyImagePolicy",
       "ImageId",
       {{"ec2:CopyImage",
         "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:image/${ImageId}"}}},
      {"EC2DescribePolicy", "", {{"ec2:DescribeRegions ec2:DescribeInstances", "*"}}},
      {"EFSWriteAccessPolicy",
       "AccessPoint FileSystem",
       {{"elasticfilesystem:ClientMount elasticfilesystem:ClientWrite",
         "arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/"
         "${FileSystem}",
         "StringEquals", "elasticfilesystem:AccessPointArn",
         "arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:access-point/"
         "${AccessPoint}"}}},
      {"EKSDescribePolicy", "", {{"eks:DescribeCluster eks:ListClusters", "*"}}},
      {"EcsRunTaskPolicy",
       "TaskDefinition",
       {{"ecs:RunTask", "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-"
                        "definition/${TaskDefinition}"}}},
      {"ElasticMapReduceAddJobFlowStepsPolicy",
       "ClusterId",
       {{"!elasticmapreduce:AddJobFlowSteps", "arn:${AWS::Partition}:elasticmapreduce:${AWS::"
                                              "Region}:${AWS::AccountId}:cluster/${ClusterId}"}}},
      {"ElasticMapReduceCancelStepsPolicy",
       "ClusterId",
       {{"!elasticmapreduce:CancelSteps", "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${"
                                          "AWS::AccountId}:cluster/${ClusterId}"}}},
      {"ElasticMapReduceModifyInstanceFleetPolicy",
       "ClusterId",
       {{"elasticmapreduce:ModifyInstanceFleet elasticmapreduce:ListInstanceFleets",
         "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/"
         "${ClusterId}"}}},
      {"ElasticMapReduceModifyInstanceGroupsPolicy",
       "ClusterId",
       {{"elasticmapreduce:ModifyInstanceGroups elasticmapreduce:ListInstanceGroups",
         "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/"
         "${ClusterId}"}}},
      {"ElasticMapReduceSetTerminationProtectionPolicy",
       "ClusterId",
       {{"!elasticmapreduce:SetTerminationProtection",
         "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/"
         "${ClusterId}"}}},
      {"ElasticMapReduceTerminateJobFlowsPolicy",
       "ClusterId",
       {{"!elasticmapreduce:TerminateJobFlows", "arn:${AWS::Partition}:elasticmapreduce:${AWS::"
                                                "Region}:${AWS::AccountId}:cluster/${ClusterId}"}}},
      {"ElasticsearchHttpPostPolicy",
       "DomainName",
       {{"es:ESHttpPost es:ESHttpPut",
         "arn:${AWS::Partition}:es:${AWS::Region}:${AWS::AccountId}:domain/${DomainName}/*"}}},
      {"EventBridgePutEventsPolicy",
       "EventBusName",
       {{"!events:PutEvents", "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-"
                              "bus/${EventBusName}"}}},
      {"FilterLogEventsPolicy",
       "LogGroupName",
       {{"logs:FilterLogEvents", "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-"
                                 "group:${LogGroupName}:log-stream:*"}}},
      {"FirehoseCrudPolicy",
       "DeliveryStreamName",
       {{"firehose:CreateDeliveryStream firehose:DeleteDeliveryStream "
         "firehose:DescribeDeliveryStream firehose:PutRecord firehose:PutRecordBatch "
         "firehose:UpdateDestination",
         "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/"
         "${DeliveryStreamName}"}}},
      {"FirehoseWritePolicy",
       "DeliveryStreamName",
       {{"firehose:PutRecord firehose:PutRecordBatch",
         "arn:${AWS::Partition}:firehose:${AWS::Region}:${AWS::AccountId}:deliverystream/"
         "${DeliveryStreamName}"}}},
      {"KMSDecryptPolicy",
       "KeyId",
       {{"!kms:Decrypt",
         "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${KeyId}"}}},
      {"KMSEncryptPolicy",
       "KeyId",
       {{"!kms:Encrypt",
         "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${KeyId}"}}},
      {"KMSEncryptPolicy_v2",
       "KeyId",
       {{"kms:Encrypt kms:GenerateDataKey kms:GenerateDataKeyWithoutPlaintext "
         "kms:GenerateDataKeyPair kms:GenerateDataKeyPairWithoutPlaintext",
         "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${KeyId}"}}},
      {"KinesisCrudPolicy",
       "StreamName",
       {{"kinesis:AddTagsToStream kinesis:CreateStream kinesis:DecreaseStreamRetentionPeriod "
         "kinesis:DeleteStream kinesis:DescribeStream kinesis:DescribeStreamSummary "
         "kinesis:GetShardIterator kinesis:IncreaseStreamRetentionPeriod kinesis:ListTagsForStream "
         "kinesis:MergeShards kinesis:PutRecord kinesis:PutRecords kinesis:SplitShard "
         "kinesis:RemoveTagsFromStream",
         "arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${StreamName}"}}},
      {"KinesisStreamReadPolicy",
       "StreamName",
       {{"kinesis:ListStreams kinesis:DescribeLimits",
         "arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/*"},
        {"kinesis:DescribeStream kinesis:DescribeStreamSummary kinesis:GetRecords "
         "kinesis:GetShardIterator",
         "arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${StreamName}"}}},
      {"LambdaInvokePolicy",
       "FunctionName",
       {{"lambda:InvokeFunction", "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:"
                                  "function:${FunctionName}*"}}},
      {"MobileAnalyticsWriteOnlyAccessPolicy", "", {{"mobileanalytics:PutEvents", "*"}}},
      {"OrganizationsListAccountsPolicy", "", {{"organizations:ListAccounts", "*"}}},
      {"PinpointEndpointAccessPolicy",
       "PinpointApplicationId",
       {{"mobiletargeting:GetEndpoint mobiletargeting:UpdateEndpoint "
         "mobiletargeting:UpdateEndpointsBatch",
         "arn:${AWS::Partition}:mobiletargeting:${AWS::Region}:${AWS::AccountId}:apps/"
         "${PinpointApplicationId}/endpoints/*"}}},
      {"PollyFullAccessPolicy",
       "LexiconName",
       {{"polly:GetLexicon polly:DeleteLexicon",
         "[ arn:${AWS::Partition}:polly:${AWS::Region}:${AWS::AccountId}:lexicon/${LexiconName}"},
        {"polly:DescribeVoices polly:ListLexicons polly:PutLexicon polly:SynthesizeSpeech",
         "[ arn:${AWS::Partition}:polly:${AWS::Region}:${AWS::AccountId}:lexicon/*"}}},
      {"RekognitionDetectOnlyPolicy",
       "",
       {{"rekognition:DetectFaces rekognition:DetectLabels rekognition:DetectModerationLabels "
         "rekognition:DetectText",
         "*"}}},
      {"RekognitionFacesManagementPolicy",
       "CollectionId",
       {{"rekognition:IndexFaces rekognition:DeleteFaces rekognition:SearchFaces "
         "rekognition:SearchFacesByImage rekognition:ListFaces",
         "arn:${AWS::Partition}:rekognition:${AWS::Region}:${AWS::AccountId}:collection/"
         "${CollectionId}"}}},
      {"RekognitionFacesPolicy", "", {{"rekognition:CompareFaces rekognition:DetectFaces", "*"}}},
      {"RekognitionLabelsPolicy",
       "",
       {{"rekognition:DetectLabels rekognition:DetectModerationLabels", "*"}}},
      {"RekognitionNoDataAccessPolicy",
       "CollectionId",
       {{"rekognition:CompareFaces rekognition:DetectFaces rekognition:DetectLabels "
         "rekognition:DetectModerationLabels",
         "arn:${AWS::Partition}:rekognition:${AWS::Region}:${AWS::AccountId}:collection/"
         "${CollectionId}"}}},
      {"RekognitionReadPolicy",
       "CollectionId",
       {{"rekognition:ListCollections rekognition:ListFaces rekognition:SearchFaces "
         "rekognition:SearchFacesByImage",
         "arn:${AWS::Partition}:rekognition:${AWS::Region}:${AWS::AccountId}:collection/"
         "${CollectionId}"}}},
      {"RekognitionWriteOnlyAccessPolicy",
       "CollectionId",
       {{"rekognition:CreateCollection rekognition:IndexFaces",
         "arn:${AWS::Partition}:rekognition:${AWS::Region}:${AWS::AccountId}:collection/"
         "${CollectionId}"}}},
      {"Route53ChangeResourceRecordSetsPolicy",
       "HostedZoneId",
       {{"route53:ChangeResourceRecordSets",
         "arn:${AWS::Partition}:route53:::hostedzone/${HostedZoneId}"}}},
      {"S3CrudPolicy",
       "BucketName",
       {{"s3:GetObject s3:ListBucket s3:GetBucketLocation s3:GetObjectVersion s3:PutObject "
         "s3:PutObjectAcl s3:GetLifecycleConfiguration s3:PutLifecycleConfiguration "
         "s3:DeleteObject",
         "[ arn:${AWS::Partition}:s3:::${BucketName} arn:${AWS::Partition}:s3:::${BucketName}/*"}}},
      {"S3FullAccessPolicy",
       "BucketName",
       {{"s3:GetObject s3:GetObjectAcl s3:GetObjectVersion s3:PutObject s3:PutObjectAcl "
         "s3:DeleteObject s3:DeleteObjectTagging s3:DeleteObjectVersionTagging s3:GetObjectTagging "
         "s3:GetObjectVersionTagging s3:PutObjectTagging s3:PutObjectVersionTagging",
         "[ arn:${AWS::Partition}:s3:::${BucketName}/*"},
        {"s3:ListBucket s3:GetBucketLocation s3:GetLifecycleConfiguration "
         "s3:PutLifecycleConfiguration",
         "[ arn:${AWS::Partition}:s3:::${BucketName}"}}},
      {"S3ReadPolicy",
       "BucketName",
       {{"s3:GetObject s3:ListBucket s3:GetBucketLocation s3:GetObjectVersion "
         "s3:GetLifecycleConfiguration",
         "[ arn:${AWS::Partition}:s3:::${BucketName} arn:${AWS::Partition}:s3:::${BucketName}/*"}}},
      {"S3WritePolicy",
       "BucketName",
       {{"s3:PutObject s3:PutObjectAcl s3:PutLifecycleConfiguration",
         "[ arn:${AWS::Partition}:s3:::${BucketName} arn:${AWS::Partition}:s3:::${BucketName}/*"}}},
      {"SESBulkTemplatedCrudPolicy",
       "IdentityName",
       {{"ses:GetIdentityVerificationAttributes ses:SendEmail ses:SendRawEmail "
         "ses:SendTemplatedEmail ses:SendBulkTemplatedEmail ses:VerifyEmailIdentity",
         "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${IdentityName}"}}},
      {"SESBulkTemplatedCrudPolicy_v2",
       "IdentityName TemplateName",
       {{"ses:SendEmail ses:SendRawEmail ses:SendTemplatedEmail ses:SendBulkTemplatedEmail",
         "[ arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${IdentityName} "
         "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:template/${TemplateName}"},
        {"ses:GetIdentityVerificationAttributes ses:VerifyEmailIdentity", "*"}}},
      {"SESCrudPolicy",
       "IdentityName",
       {{"ses:GetIdentityVerificationAttributes ses:SendEmail ses:SendRawEmail "
         "ses:VerifyEmailIdentity",
         "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${IdentityName}"}}},
      {"SESEmailTemplateCrudPolicy",
       "",
       {{"ses:CreateTemplate ses:GetTemplate ses:ListTemplates ses:UpdateTemplate "
         "ses:DeleteTemplate ses:TestRenderTemplate",
         "*"}}},
      {"SESSendBouncePolicy",
       "IdentityName",
       {{"ses:SendBounce",
         "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${IdentityName}"}}},
      {"SNSCrudPolicy",
       "TopicName",
       {{"sns:ListSubscriptionsByTopic sns:CreateTopic sns:SetTopicAttributes sns:Subscribe "
         "sns:Publish",
         "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${TopicName}*"}}},
      {"SNSPublishMessagePolicy",
       "TopicName",
       {{"sns:Publish",
         "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${TopicName}"}}},
      {"SQSPollerPolicy",
       "QueueName",
       {{"sqs:ChangeMessageVisibility sqs:ChangeMessageVisibilityBatch sqs:DeleteMessage "
         "sqs:DeleteMessageBatch sqs:GetQueueAttributes sqs:ReceiveMessage",
         "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}"}}},
      {"SQSSendMessagePolicy",
       "QueueName",
       {{"sqs:SendMessage*",
         "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}"}}},
      {"SSMParameterReadPolicy",
       "ParameterName",
       {{"ssm:DescribeParameters", "*"},
        {"ssm:GetParameters ssm:GetParameter ssm:GetParametersByPath",
         "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${ParameterName}"}}},
      {"SSMParameterWithSlashPrefixReadPolicy",
       "ParameterName",
       {{"ssm:DescribeParameters", "*"},
        {"ssm:GetParameters ssm:GetParameter ssm:GetParametersByPath",
         "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${ParameterName}"}}},
      {"SageMakerCreateEndpointConfigPolicy",
       "EndpointConfigName",
       {{"sagemaker:CreateEndpointConfig", "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::"
                                           "AccountId}:endpoint-config/${EndpointConfigName}"}}},
      {"SageMakerCreateEndpointPolicy",
       "EndpointName",
       {{"sagemaker:CreateEndpoint", "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::"
                                     "AccountId}:endpoint/${EndpointName}"}}},
      {"ServerlessRepoReadWriteAccessPolicy",
       "",
       {{"serverlessrepo:CreateApplication serverlessrepo:CreateApplicationVersion "
         "serverlessrepo:UpdateApplication serverlessrepo:GetApplication "
         "serverlessrepo:ListApplications serverlessrepo:ListApplicationVersions "
         "serverlessrepo:ListApplicationDependencies",
         "[ "
         "arn:${AWS::Partition}:serverlessrepo:${AWS::Region}:${AWS::AccountId}:applications/*"}}},
      {"StepFunctionsCallbackPolicy",
       "StateMachineName",
       {{"states:SendTaskFailure states:SendTaskHeartbeat states:SendTaskSuccess",
         "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${"
         "StateMachineName}"}}},
      {"StepFunctionsExecutionPolicy",
       "StateMachineName",
       {{"states:StartExecution", "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:"
                                  "stateMachine:${StateMachineName}"}}},
      {"StepFunctionsExecutionPolicy_v2",
       "StateMachineName",
       {{"states:StartExecution states:StartSyncExecution",
         "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${"
         "StateMachineName}"}}},
      {"TextractDetectAnalyzePolicy",
       "",
       {{"textract:DetectDocumentText textract:StartDocumentTextDetection "
         "textract:StartDocumentAnalysis textract:AnalyzeDocument",
         "*"}}},
      {"TextractGetResultPolicy",
       "",
       {{"textract:GetDocumentTextDetection textract:GetDocumentAnalysis", "*"}}},
      {"TextractPolicy", "", {{"textract:*", "*"}}},
      {"VPCAccessPolicy",
       "",
       {{"ec2:CreateNetworkInterface ec2:DeleteNetworkInterface ec2:DescribeNetworkInterfaces "
         "ec2:DetachNetworkInterface",
         "*"}}},
  };
  return k_table;
}

const TemplateDef* find(std::string_view name) {
  const auto& t = table();
  auto it = std::lower_bound(t.begin(), t.end(), name,
                             [](const TemplateDef& d, std::string_view n) { return d.name < n; });
  return it != t.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string_view> words(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ')
      ++i;
    const auto start = i;
    while (i < text.size() && text[i] != ' ')
      ++i;
    if (i > start)
      out.push_back(text.substr(start, i - start));
  }
  return out;
}

// One pattern: "*", "${Param}" (the value itself), or an Fn::Sub over the parameters it names.
json::value substitute(std::string_view pattern, const json::object& values) {
  if (pattern == "*")
    return "*";
  if (pattern.starts_with("${") && pattern.ends_with("}") &&
      pattern.find("${", 2) == std::string_view::npos) {
    const auto name = pattern.substr(2, pattern.size() - 3);
    if (const auto* v = values.if_contains(name))
      return *v;
  }
  json::object variables;
  for (const auto& item : values)
    if (pattern.find(fmt::format("${{{}}}", std::string_view(item.key()))) !=
        std::string_view::npos)
      variables[item.key()] = item.value();
  if (variables.empty())
    return json::object{{"Fn::Sub", json::value(std::string(pattern))}};
  return json::object{
      {"Fn::Sub", json::array{json::value(std::string(pattern)), std::move(variables)}}};
}

} // namespace

std::vector<std::string> policy_template_names() {
  std::vector<std::string> names;
  for (const auto& t : table())
    names.emplace_back(t.name);
  return names;
}

support::Result<json::array> policy_template(std::string_view name, const json::value& parameters) {
  const auto* def = find(name);
  if (def == nullptr) {
    std::string hint;
    const auto names = policy_template_names();
    if (auto close = support::closest_match(name, names))
      hint = fmt::format("; did you mean '{}'?", *close);
    return support::failf("unknown SAM policy template '{}'{}", name, hint);
  }
  if (!parameters.is_object() && !parameters.is_null())
    return support::failf("policy template {} takes an object of parameters", name);
  const json::object empty;
  const auto& given = parameters.is_object() ? parameters.as_object() : empty;
  const auto declared = words(def->parameters);
  json::object values;
  for (const auto parameter : declared) {
    const auto* value = given.if_contains(parameter);
    if (value == nullptr)
      return support::failf("policy template {} needs the parameter {}", name, parameter);
    if (value->is_string() && value->as_string().empty())
      return support::failf("policy template {}: {} is empty", name, parameter);
    if (value->is_array() || value->is_null() || value->is_bool())
      return support::failf("policy template {}: {} must be a string", name, parameter);
    values[parameter] = *value;
  }
  for (const auto& item : given)
    if (std::find(declared.begin(), declared.end(), std::string_view(item.key())) == declared.end())
      return support::failf("policy template {} has no parameter {}", name,
                            std::string_view(item.key()));
  json::array statements;
  for (const auto& s : def->statements) {
    json::object statement;
    if (s.actions.starts_with('!')) {
      statement["Action"] = std::string(s.actions.substr(1));
    } else {
      json::array actions;
      for (const auto action : words(s.actions))
        actions.emplace_back(std::string(action));
      statement["Action"] = std::move(actions);
    }
    statement["Effect"] = "Allow";
    auto resources = s.resources;
    const bool list = resources.starts_with("[ ");
    if (list)
      resources.remove_prefix(2);
    if (list) {
      json::array items;
      for (const auto pattern : words(resources))
        items.push_back(substitute(pattern, values));
      statement["Resource"] = std::move(items);
    } else {
      statement["Resource"] = substitute(resources, values);
    }
    if (!s.condition_operator.empty())
      statement["Condition"] =
          json::object{{s.condition_operator,
                        json::object{{s.condition_key, substitute(s.condition_value, values)}}}};
    statements.push_back(std::move(statement));
  }
  return statements;
}

} // namespace wisp::infra
