// nudge on Azure Functions: one resource group holds the whole bot.
//
//   az deployment group create -g <group> -f infra/azure/main.bicep \
//     -p appName=<name> webhookSecret=<16+ characters>
//
// What it makes, and why:
// - a user-assigned managed identity: the bot's identity towards the Bot
//   Connector (MicrosoftAppType UserAssignedMSI, no secret to leak or rotate)
//   and the app's identity towards its storage account (no account key in any
//   setting; shared-key access is switched off);
// - the storage account: the Functions host's own state, the deployment
//   package container, the notification queue and its -poison queue, and the
//   table everything nudge remembers;
// - a Flex Consumption plan and the Function App running the custom handler
//   (Linux, runtime "custom");
// - Application Insights on a Log Analytics workspace, written to with the
//   identity;
// - the Azure Bot resource, whose messaging endpoint is the app's
//   /api/messages.
// The README's "Deploy to Azure" walks through it.

targetScope = 'resourceGroup'

@description('Name of the Function App (also the prefix of the other resources). Globally unique: it becomes <appName>.azurewebsites.net.')
@minLength(3)
@maxLength(40)
param appName string

@description('Region for everything but the bot resource (which is global). Must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('How the bot proves itself to the Bot Connector: UserAssignedMSI (the identity made here; no secret) or SingleTenant (an Entra app registration of your tenant with a client secret).')
@allowed([
  'UserAssignedMSI'
  'SingleTenant'
])
param botAppType string = 'UserAssignedMSI'

@description('SingleTenant only: the app registration\'s application (client) id.')
param botAppId string = ''

@description('SingleTenant only: the app registration\'s client secret.')
@secure()
param botAppPassword string = ''

@description('The secret webhook senders sign requests with (NUDGE_WEBHOOK_SECRETS: 16+ characters; several comma-separated during a rotation).')
@secure()
@minLength(16)
param webhookSecret string

@description('Pricing tier of the Azure Bot resource: F0 (free, standard channels) or S1.')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('Most instances Flex Consumption may scale the app out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Where to open a 1:1 conversation with a Teams user of a tenant nudge has no conversation in yet (NUDGE_TEAMS_SERVICE_URL), e.g. https://smba.trafficmanager.net/teams/; empty for none.')
param teamsServiceUrl string = ''

@description('The notification queue (NUDGE_QUEUE_NAME); its poison queue is <name>-poison.')
param queueName string = 'nudge-notifications'

@description('The table nudge keeps everything in (NUDGE_TABLE_NAME).')
param tableName string = 'nudge'

@description('Days Log Analytics keeps the app\'s logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// Storage account names: 3-24 lowercase letters and digits, globally unique.
var storageName = take('st${toLower(replace(appName, '-', ''))}${uniqueString(resourceGroup().id)}', 24)
var deploymentContainer = 'app-package'
var usesIdentityForBot = botAppType == 'UserAssignedMSI'

// Built-in role definitions (the ids are the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${appName}-identity'
  location: location
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainer
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource notificationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: queueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${queueName}-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource table 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: tableName
}

// The identity's rights on the account: blobs for the host's own state and
// the deployment package, queues for notifications, the table for nudge.
resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in [
    roles.storageBlobDataOwner
    roles.storageQueueDataContributor
    roles.storageTableDataContributor
  ]: {
    name: guid(storage.id, identity.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${appName}-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${appName}-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource insightsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${appName}-plan'
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

// The bot's own identity settings: the managed identity's client id, or
// the app registration and its secret.
var identityBotSettings = [
  {
    name: 'MicrosoftAppType'
    value: 'UserAssignedMSI'
  }
  {
    name: 'MicrosoftAppId'
    value: identity.properties.clientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: tenant().tenantId
  }
]
var secretBotSettings = [
  {
    name: 'MicrosoftAppType'
    value: 'SingleTenant'
  }
  {
    name: 'MicrosoftAppId'
    value: botAppId
  }
  {
    name: 'MicrosoftAppPassword'
    value: botAppPassword
  }
  {
    name: 'MicrosoftAppTenantId'
    value: tenant().tenantId
  }
]

// The host's storage and nudge's, through the identity (no key anywhere).
var commonSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identity.properties.clientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: insights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  }
  {
    name: 'NUDGE_QUEUE_NAME'
    value: queueName
  }
  {
    name: 'NUDGE_TABLE_NAME'
    value: tableName
  }
  {
    name: 'NUDGE_WEBHOOK_SECRETS'
    value: webhookSecret
  }
  {
    name: 'NUDGE_LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'NUDGE_TEAMS_SERVICE_URL'
    value: teamsServiceUrl
  }
]

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat(commonSettings, usesIdentityForBot ? identityBotSettings : secretBotSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
  dependsOn: [
    storageRoles
    insightsRole
    packageContainer
    notificationQueue
    poisonQueue
    table
  ]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${appName}-bot'
  location: 'global'
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: appName
    endpoint: 'https://${app.properties.defaultHostName}/api/messages'
    msaAppType: botAppType
    msaAppId: usesIdentityForBot ? identity.properties.clientId : botAppId
    msaAppTenantId: tenant().tenantId
    msaAppMSIResourceId: usesIdentityForBot ? identity.id : null
  }
}

@description('The bot\'s messaging endpoint, as set on the Azure Bot resource.')
output messagingEndpoint string = 'https://${app.properties.defaultHostName}/api/messages'

@description('Where webhook senders call nudge (POST /api/notify, /api/broadcast, ...).')
output webhookBaseUrl string = 'https://${app.properties.defaultHostName}/api'

@description('The Function App to publish to: func azure functionapp publish <this> --custom')
output functionAppName string = app.name

@description('The Azure Bot resource, where the Teams channel is added.')
output botName string = bot.name
