// Flex Consumption (FC1, Linux) plan and the function app: Node 22, system-assigned managed identity,
// identity-based connections only. Runtime name and version live in functionAppConfig; Flex Consumption
// rejects the classic FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION / WEBSITE_* settings, so none
// are set. Platform CORS is left unset: the app answers CORS itself (CORS_ALLOWED_ORIGINS).

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Function app name, globally unique (it becomes <name>.azurewebsites.net).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('azd service name in azure.yaml; azd finds the app to deploy by this tag.')
param azdServiceName string = 'api'

@description('Storage account for the Functions runtime (AzureWebJobsStorage) and the deployment package.')
param storageAccountName string

@description('Blob endpoint of that account, with a trailing slash.')
param storageBlobEndpoint string

@description('Container the platform deploys the app package from.')
param deploymentContainerName string

@description('Blob container for uploaded mockups (UPLOADS_CONTAINER).')
param uploadsContainerName string

@description('Cosmos DB account endpoint.')
param cosmosEndpoint string

@description('Cosmos DB database name.')
param cosmosDatabaseName string

@description('Web PubSub endpoint, https://<name>.webpubsub.azure.com.')
param webPubSubEndpoint string

@description('Web PubSub hub for progress.')
param webPubSubHub string

@description('Application Insights connection string.')
param applicationInsightsConnectionString string

@description('Versionless Key Vault secret URI of the Anthropic API key.')
param anthropicApiKeySecretUri string

@description('Versionless Key Vault secret URI of the API-key pepper; empty: keys are hashed without one.')
param apiKeyPepperSecretUri string = ''

@description('Versionless Key Vault secret URI of the key encrypting webhook signing secrets.')
param webhookSecretKeySecretUri string

@description('Versionless Key Vault secret URI of the key sealing OpenWebUI connection secrets; empty: no connections.')
param connectionSecretsKeySecretUri string = ''

@description('Durable Functions task hub: letters and digits, 3-45 characters, starting with a letter.')
param taskHubName string = 'UserStoryAgentHub'

@description('Plan of a tenant seen for the first time (DEFAULT_PLAN).')
param defaultPlan string = 'free'

@description('Browser origins allowed to call the API, comma-separated or * (CORS_ALLOWED_ORIGINS).')
param corsAllowedOrigins string = ''

@description('Trusted JWT issuers, a JSON array of { issuer, audience, jwksUri? } (AUTH_ISSUERS).')
param authIssuers string = '[]'

@description('Most instances the app scales out to (at most 1000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

var siteTags = union(tags, {
  'azd-service-name': azdServiceName
})

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: siteTags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat([
        // Runtime storage by managed identity: blob, queue and table endpoints derive from the account name.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storageAccountName
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: applicationInsightsConnectionString
        }
        {
          name: 'NODE_ENV'
          value: 'production'
        }
        {
          name: 'TASK_HUB_NAME'
          value: taskHubName
        }
        // The app's own blobs, keyless (wins over connection strings in shared/config.ts).
        {
          name: 'STORAGE_ACCOUNT_URL'
          value: storageBlobEndpoint
        }
        {
          name: 'UPLOADS_CONTAINER'
          value: uploadsContainerName
        }
        // No COSMOS_KEY: unset means DefaultAzureCredential, i.e. this app's managed identity.
        {
          name: 'COSMOS_ENDPOINT'
          value: cosmosEndpoint
        }
        {
          name: 'COSMOS_DATABASE'
          value: cosmosDatabaseName
        }
        {
          name: 'WEB_PUBSUB_ENDPOINT'
          value: webPubSubEndpoint
        }
        {
          name: 'WEB_PUBSUB_HUB'
          value: webPubSubHub
        }
        {
          name: 'DEFAULT_PLAN'
          value: defaultPlan
        }
        {
          name: 'CORS_ALLOWED_ORIGINS'
          value: corsAllowedOrigins
        }
        {
          name: 'AUTH_ISSUERS'
          value: authIssuers
        }
        // Read by the app itself with its identity (Key Vault Secrets User) through @azure/keyvault-secrets,
        // cached and re-read when Anthropic refuses the key: a rotated secret is used without a restart.
        {
          name: 'ANTHROPIC_API_KEY_SECRET_URI'
          value: anthropicApiKeySecretUri
        }
        {
          name: 'WEBHOOK_SECRET_KEY_SECRET_URI'
          value: webhookSecretKeySecretUri
        }
      ], empty(apiKeyPepperSecretUri) ? [] : [
        {
          name: 'API_KEY_PEPPER_SECRET_URI'
          value: apiKeyPepperSecretUri
        }
      ], empty(connectionSecretsKeySecretUri) ? [] : [
        {
          name: 'CONNECTION_SECRETS_KEY_SECRET_URI'
          value: connectionSecretsKeySecretUri
        }
      ])
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
@description('Object id of the system-assigned identity, for role assignments.')
output principalId string = site.identity.principalId
