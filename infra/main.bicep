// The model-training function app and its storage, as code (docs/functions.md, "Infrastructure").
//
//   az deployment group create -g <resource group> -f infra/main.bicep \
//     -p name=<app name> trainingDbUrl='postgresql+psycopg2://...'
//
// One storage account holds everything: the artifacts and model cards (container `models`),
// the run records (`training-runs`), the queue `training-jobs`, the Functions host's own blobs
// and the deployment package. Blob versioning and soft delete are on. The lifecycle policy
// ages only model artifacts whose blob index tag `status` says the version never served
// (`rejected`, `kept_champion`): cool after 30 days, deleted after `deleteArtifactsAfterDays`.
// Champions (`champion`), former champions (`former_champion`, kept for rollbacks), versions
// whose gate said promote (`promoted`), untagged blobs and every model card are never touched.
// The app writes the tags (src/retrain/service/model_repository.py, ArtifactStatus).
// Correction batches (`models/feedback/<MODEL>/...`, issue 27) are data: written once, never
// tagged and never overwritten, so no rule touches them; they are kept.
//
// The app reaches storage with its system-assigned identity only (no keys): shared-key access
// is off. tests/unit/test_infra.py parses this file and checks these promises.

@description('Name of the function app; the plan, Application Insights and the storage account are named after it.')
@minLength(3)
@maxLength(40)
param name string

@description('Azure region of every resource (Flex Consumption must be offered there).')
param location string = resourceGroup().location

@description('ENVIRONMENT of the app: shown in model cards, log lines and Slack.')
@allowed([
  'DEV'
  'STAGING'
  'PROD'
])
param environment string = 'PROD'

@description('TRAINING_DB_URL: SQLAlchemy URL of the read-only training database. With postgresUseManagedIdentity, no password; else pass a Key Vault reference (@Microsoft.KeyVault(SecretUri=...)).')
@secure()
param trainingDbUrl string

@description('POSTGRES_USE_MANAGED_IDENTITY: the database password is an Entra ID token of the app\'s identity.')
param postgresUseManagedIdentity bool = false

@description('Container of the artifacts, model cards and champion aliases (ARTIFACT_CONTAINER).')
param artifactContainer string = 'models'

@description('Container of the run records (RUNS_CONTAINER).')
param runsContainer string = 'training-runs'

@description('Days after which the artifact of a rejected or kept-champion version is deleted (cool after 30). At least 60: cool storage bills 30 days at least.')
@minValue(60)
@maxValue(36500)
param deleteArtifactsAfterDays int = 365

@description('Days a deleted blob or container stays recoverable (blob and container soft delete).')
@minValue(1)
@maxValue(365)
param softDeleteRetentionDays int = 30

@description('Days after which overwritten copies (previous versions) of run records, the host\'s blobs and deployment packages are deleted. Previous versions in the models container are kept.')
@minValue(1)
@maxValue(36500)
param deletePreviousVersionsAfterDays int = 90

@description('Replication of the storage account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_ZRS'

@description('TRAINING_SCHEDULE: the monthly timer (NCRONTAB, UTC).')
param trainingSchedule string = '0 0 3 1 * *'

@description('DECAY_SCHEDULE: the champion-decay timer (NCRONTAB, UTC; the 28th, before the retraining on the 1st).')
param decaySchedule string = '0 0 3 28 * *'

@description('ENABLE_SLACK: report runs to Slack (then set slackBotToken + slackChannel, or slackWebhookUrl).')
param enableSlack bool = false

@description('SLACK_BOT_TOKEN (xoxb-...), or a Key Vault reference to it.')
@secure()
param slackBotToken string = ''

@description('SLACK_CHANNEL the bot posts to.')
param slackChannel string = ''

@description('SLACK_WEBHOOK_URL (instead of a bot token), or a Key Vault reference to it.')
@secure()
param slackWebhookUrl string = ''

@description('SLACK_SIGNING_SECRET: the Slack app\'s signing secret, which verifies Approve / Reject clicks (specs with approval="required"), or a Key Vault reference to it. Empty: every click is refused.')
@secure()
param slackSigningSecret string = ''

@description('LOG_LEVEL of the app.')
@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

@description('Memory of one instance in MB: a run holds its training rows in memory.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Most instances at once: each trains one run at a time (host.json batchSize 1).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 10

@description('Create Application Insights and send the app\'s logs there.')
param enableApplicationInsights bool = true

// The training queue and the Functions host's containers (src/retrain/entrypoints/training_queue.py).
var trainingQueue = 'training-jobs'
var poisonQueue = '${trainingQueue}-poison'
var deploymentContainer = 'app-package'
var hostContainers = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]
var coolArtifactsAfterDays = 30

// 3-24 lowercase letters and digits, unique per resource group.
var storageName = '${take(toLower(replace(replace(name, '-', ''), '_', '')), 11)}${uniqueString(resourceGroup().id, name)}'

// Built-in roles (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
// Blob Data Owner, not Contributor: setting blob index tags (the lifecycle status) needs
// blobs/tags/write, which only Owner holds, and the Functions host's identity-based
// AzureWebJobsStorage needs Owner for its own blobs (keys, timer and singleton locks).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// The queue trigger reads and deletes messages, the HTTP and timer functions send them, the
// host creates the poison queue.
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// The host's diagnostic events go to a table in AzureWebJobsStorage.
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var appRoles = [
  storageBlobDataOwner
  storageQueueDataContributor
  storageTableDataContributor
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    supportsHttpsTrafficOnly: true
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    isHnsEnabled: false
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionDays
    }
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in [
    artifactContainer
    runsContainer
    deploymentContainer
  ]: {
    parent: blobService
    name: container
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queue in [
    trainingQueue
    poisonQueue
  ]: {
    parent: queueService
    name: queue
  }
]

// Tags on artifacts only: a card is never tagged, so no rule matches it. Each rule names one
// status (the conditions of one rule are ANDed). Setting a tag changes neither the blob's
// last-modified time nor its ETag, so the age counts from the upload.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'ageRejectedArtifacts'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${artifactContainer}/'
              ]
              blobIndexMatch: [
                {
                  name: 'status'
                  op: '=='
                  value: 'rejected'
                }
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: coolArtifactsAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: deleteArtifactsAfterDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: deleteArtifactsAfterDays
                }
              }
            }
          }
        }
        {
          name: 'ageKeptChampionArtifacts'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${artifactContainer}/'
              ]
              blobIndexMatch: [
                {
                  name: 'status'
                  op: '=='
                  value: 'kept_champion'
                }
              ]
            }
            actions: {
              baseBlob: {
                tierToCool: {
                  daysAfterModificationGreaterThan: coolArtifactsAfterDays
                }
                delete: {
                  daysAfterModificationGreaterThan: deleteArtifactsAfterDays
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: deleteArtifactsAfterDays
                }
              }
            }
          }
        }
        {
          name: 'expireOverwrittenCopies'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${runsContainer}/'
                '${deploymentContainer}/'
                '${hostContainers[0]}/'
                '${hostContainers[1]}/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: deletePreviousVersionsAfterDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    blobService
  ]
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = if (enableApplicationInsights) {
  name: '${name}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
  }
}

// Flex Consumption: host.json's functionTimeout of 2 h is beyond the Consumption plan's 10
// minutes, and Flex runs the app from a blob container with the app's identity, so no
// Azure Files share (which needs an account key) is involved.
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// The README's settings table, identity-based: no connection string, no account key.
var appSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  ENVIRONMENT: environment
  TRAINING_DB_URL: trainingDbUrl
  POSTGRES_USE_MANAGED_IDENTITY: postgresUseManagedIdentity ? 'true' : 'false'
  TRAINING_SCHEDULE: trainingSchedule
  DECAY_SCHEDULE: decaySchedule
  TRAINING_MAX_ATTEMPTS: '3'
  ARTIFACT_ACCOUNT_URL: storage.properties.primaryEndpoints.blob
  ARTIFACT_CONTAINER: artifactContainer
  RUNS_CONTAINER: runsContainer
  ENABLE_SLACK: enableSlack ? 'true' : 'false'
  SLACK_BOT_TOKEN: slackBotToken
  SLACK_CHANNEL: slackChannel
  SLACK_WEBHOOK_URL: slackWebhookUrl
  SLACK_SIGNING_SECRET: slackSigningSecret
  LOG_LEVEL: logLevel
  LOG_FORMAT: 'json'
  APPLICATIONINSIGHTS_CONNECTION_STRING: enableApplicationInsights ? appInsights.properties.ConnectionString : ''
}

resource settings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: app
  name: 'appsettings'
  properties: appSettings
}

resource appRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appRoles: {
    scope: storage
    name: guid(storage.id, app.id, role)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: app.identity.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

output functionAppName string = app.name
output storageAccountName string = storage.name
output artifactAccountUrl string = storage.properties.primaryEndpoints.blob
output healthUrl string = 'https://${app.properties.defaultHostName}/api/health'
