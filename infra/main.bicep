// user-story-agent on Azure: a Flex Consumption function app (Node 22, Durable Functions) with Cosmos DB,
// Blob Storage, Web PubSub, Key Vault and Application Insights. Every connection uses the app's managed
// identity with data-plane RBAC; no key or connection secret is placed in app settings.
targetScope = 'resourceGroup'

@description('Environment name (azd: AZURE_ENV_NAME); tags every resource and seeds the unique resource names.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region for every resource; it must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Anthropic API key, stored in Key Vault as secret "anthropic-api-key" when given. Leave empty to set the secret later.')
@secure()
param anthropicApiKey string = ''

@description('API-key pepper (32+ characters), stored in Key Vault as secret "api-key-pepper" when given. Set it before the first API key is issued and never change it.')
@secure()
param apiKeyPepper string = ''

@description('Key encrypting webhook signing secrets (AES-256-GCM): 32 random bytes, base64 (`openssl rand -base64 32`). Required: the app refuses to start in production without it. Generate it once and keep it: a new key makes stored webhook secrets unreadable.')
@secure()
param webhookSecretKey string

@description('Key sealing OpenWebUI connection secrets (AES-256-GCM): 32 random bytes, base64 (`openssl rand -base64 32`), stored in Key Vault as secret "connection-secrets-key" when given. Empty: tenants cannot register OpenWebUI connections. Generate it once and keep it: a new key makes stored connection secrets unreadable.')
@secure()
param connectionSecretsKey string = ''

@description('Browser origins allowed to call the API and to upload to Blob Storage: comma-separated, or *. Empty: none.')
param corsAllowedOrigins string = ''

@description('Plan of a tenant seen for the first time (DEFAULT_PLAN).')
param defaultPlan string = 'free'

@description('Web PubSub tier: Free_F1 for trials, Standard_S1 for production.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param webPubSubSku string = 'Standard_S1'

@description('Trusted JWT issuers (AUTH_ISSUERS), a JSON array of { issuer, audience, jwksUri? }. Empty: none.')
param authIssuers string = ''

@description('Key Vault purge protection. Irreversible once on; turn off only for throwaway environments.')
param keyVaultPurgeProtection bool = true

var tags = {
  'azd-env-name': environmentName
}
// 13 lowercase letters and digits, stable for one environment in one resource group.
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var functionAppName = 'func-${resourceToken}'
var databaseName = 'user-story-agent'
var progressHubName = 'progress'
var taskHubName = 'UserStoryAgentHub'
// The storage the app's own code uses: `appStorage` in shared/adapters/blob-client.ts, which
// test/infra/bicep-matches-code.test.ts compares with these lists.
var uploadsContainerName = 'uploads'
var appBlobContainerNames = [
  uploadsContainerName
]
var appQueueNames = []
var appTableNames = []

// CORS_ALLOWED_ORIGINS is one comma-separated string; Blob CORS wants a list of explicit origins (or *).
var blobCorsOrigins = filter(map(split(corsAllowedOrigins, ','), origin => trim(origin)), origin => !empty(origin))

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: 'st${resourceToken}'
    deploymentContainerName: 'app-package'
    appBlobContainerNames: appBlobContainerNames
    appQueueNames: appQueueNames
    appTableNames: appTableNames
    corsAllowedOrigins: blobCorsOrigins
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    location: location
    tags: tags
    name: 'cosmos-${resourceToken}'
    databaseName: databaseName
  }
}

module webPubSub 'modules/web-pubsub.bicep' = {
  name: 'web-pubsub'
  params: {
    location: location
    tags: tags
    name: 'wps-${resourceToken}'
    skuName: webPubSubSku
    hubName: progressHubName
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    location: location
    tags: tags
    name: 'kv-${resourceToken}'
    enablePurgeProtection: keyVaultPurgeProtection
    anthropicApiKey: anthropicApiKey
    apiKeyPepper: apiKeyPepper
    webhookSecretKey: webhookSecretKey
    connectionSecretsKey: connectionSecretsKey
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: 'plan-${resourceToken}'
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    uploadsContainerName: uploadsContainerName
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    webPubSubEndpoint: webPubSub.outputs.endpoint
    webPubSubHub: webPubSub.outputs.hubName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    anthropicApiKeySecretUri: keyVault.outputs.anthropicApiKeyUri
    apiKeyPepperSecretUri: keyVault.outputs.apiKeyPepperUri
    webhookSecretKeySecretUri: keyVault.outputs.webhookSecretKeyUri
    connectionSecretsKeySecretUri: keyVault.outputs.connectionSecretsKeyUri
    taskHubName: taskHubName
    // An empty value would fail the app's config check (DEFAULT_PLAN must be non-empty).
    defaultPlan: empty(defaultPlan) ? 'free' : defaultPlan
    corsAllowedOrigins: corsAllowedOrigins
    authIssuers: empty(authIssuers) ? '[]' : authIssuers
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    webPubSubName: webPubSub.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

// Upper-case outputs become azd environment values.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = subscription().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_ACCOUNT_URL string = storage.outputs.blobEndpoint
output COSMOS_ACCOUNT_NAME string = cosmos.outputs.name
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = cosmos.outputs.databaseName
output WEB_PUBSUB_NAME string = webPubSub.outputs.name
output WEB_PUBSUB_ENDPOINT string = webPubSub.outputs.endpoint
output WEB_PUBSUB_HUB string = webPubSub.outputs.hubName
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URI string = keyVault.outputs.vaultUri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
