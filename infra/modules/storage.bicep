// StorageV2 account for the Functions runtime (durable state, host locks and keys), the Flex Consumption
// deployment package and the app's own storage (mockup uploads; any queues and tables the app's code uses). Shared-key access is off: the function app
// reaches every service with its managed identity, and browsers upload with user delegation SAS.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Container the Flex Consumption plan deploys the app package from.')
param deploymentContainerName string

@description('Blob containers the app\'s own code uses (appStorage in shared/adapters/blob-client.ts).')
param appBlobContainerNames array

@description('Queues the app\'s own code uses; the Durable Functions task hub creates its own.')
param appQueueNames array = []

@description('Tables the app\'s own code uses; the Durable Functions task hub creates its own.')
param appTableNames array = []

@description('Browser origins allowed to call the Blob service (uploads). Empty: no CORS rule.')
param corsAllowedOrigins array = []

// Lets browsers upload mockups straight to Blob Storage (PUT with a user delegation SAS) and read them back.
var corsRule = {
  allowedOrigins: corsAllowedOrigins
  allowedMethods: [
    'GET'
    'HEAD'
    'PUT'
    'OPTIONS'
  ]
  allowedHeaders: [
    '*'
  ]
  exposedHeaders: [
    '*'
  ]
  maxAgeInSeconds: 3600
}
var corsRules = empty(corsAllowedOrigins) ? [] : array(corsRule)

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    cors: {
      corsRules: corsRules
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource appBlobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in appBlobContainerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource appQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in appQueueNames: {
    parent: queueService
    name: queueName
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storageAccount
  name: 'default'
}

resource appTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in appTableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = storageAccount.name
output id string = storageAccount.id
@description('Blob endpoint with a trailing slash, e.g. https://<name>.blob.core.windows.net/.')
output blobEndpoint string = storageAccount.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
