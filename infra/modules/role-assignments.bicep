// Data-plane RBAC for the function app's system-assigned identity. Nothing in the app holds a key.
//   Storage:    Blob Data Owner (runtime host keys and leases, deployment package, uploads, user delegation SAS),
//               Queue Data Contributor and Table Data Contributor (Durable Functions task hub).
//   Cosmos DB:  Built-in Data Contributor (a Cosmos SQL role assignment, not an Azure RBAC one).
//   Web PubSub: Service Owner (publish and issue client access tokens).
//   Key Vault:  Secrets User (read the Anthropic key and the API-key pepper by secret URI).

@description('Object id of the function app identity.')
param principalId string

@description('Storage account the identity uses.')
param storageAccountName string

@description('Cosmos DB account the identity uses.')
param cosmosAccountName string

@description('Web PubSub service the identity uses.')
param webPubSubName string

@description('Key Vault the identity reads secrets from.')
param keyVaultName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var webPubSubServiceOwner = '12cf5a90-567b-43ae-8102-96cf46c7d9b4'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
// Cosmos DB Built-in Data Contributor, a Cosmos SQL role definition under the account.
var cosmosDbBuiltInDataContributor = '00000000-0000-0000-0000-000000000002'

var storageRoles = [
  storageBlobDataOwner
  storageQueueDataContributor
  storageTableDataContributor
]

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource cosmosAccount 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' existing = {
  name: cosmosAccountName
}

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in storageRoles: {
    name: guid(storageAccount.id, principalId, roleId)
    scope: storageAccount
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: principalId
      // Skips the directory lookup that can fail while a new identity replicates.
      principalType: 'ServicePrincipal'
    }
  }
]

resource webPubSubAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webPubSub.id, principalId, webPubSubServiceOwner)
  scope: webPubSub
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource keyVaultAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, principalId, keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Scoped to the whole account: the SDK reads account metadata as well as the database and its containers.
resource cosmosAssignment 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: cosmosAccount
  name: guid(cosmosAccount.id, principalId, cosmosDbBuiltInDataContributor)
  properties: {
    roleDefinitionId: '${cosmosAccount.id}/sqlRoleDefinitions/${cosmosDbBuiltInDataContributor}'
    principalId: principalId
    scope: cosmosAccount.id
  }
}
