// Serverless Cosmos DB for NoSQL account with local (key) auth disabled, the app's database and its
// containers. The app calls createIfNotExists for them at start-up, but with Entra ID (data-plane RBAC) a
// client cannot create databases or containers, only read them; so they are provisioned here, with the same
// ids and partition key, and the app's calls find them.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Account name: 3-44 lowercase letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(44)
param name string

@description('Database name (app setting COSMOS_DATABASE).')
param databaseName string = 'user-story-agent'

@description('Containers the app uses, with their partition key paths: exactly `cosmosContainers` in shared/adapters/cosmos-store.ts (test/infra/bicep-matches-code.test.ts compares them).')
param containers array = [
  {
    name: 'tenants'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'jobs'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'usage'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'apiKeys'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'quotas'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'audit'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'webhooks'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'uploads'
    partitionKeyPath: '/tenantId'
  }
  {
    name: 'alerts'
    partitionKeyPath: '/tenantId'
  }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    capabilities: [
      {
        name: 'EnableServerless'
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: {
          paths: [
            container.partitionKeyPath
          ]
          kind: 'Hash'
        }
      }
    }
  }
]

output name string = account.name
output id string = account.id
@description('Account endpoint, e.g. https://<name>.documents.azure.com:443/.')
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
