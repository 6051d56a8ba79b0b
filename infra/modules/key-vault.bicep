// Key Vault with Azure RBAC authorization (no access policies) and soft delete. Holds the Anthropic API key,
// which the function app reads through a Key Vault reference with its managed identity.

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Vault name: 3-24 letters, digits and hyphens, starting with a letter, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Days a deleted vault or secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Purge protection: a deleted vault cannot be purged before its retention ends. Irreversible once on.')
param enablePurgeProtection bool = true

@description('Name of the secret holding the Anthropic API key.')
param anthropicApiKeySecretName string = 'anthropic-api-key'

@description('Anthropic API key; stored as a secret when given. Empty: no secret is written (set it later).')
@secure()
param anthropicApiKey string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // The service refuses false for this property: omit it (null) to leave purge protection off.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource anthropicSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(anthropicApiKey)) {
  parent: vault
  name: anthropicApiKeySecretName
  properties: {
    value: anthropicApiKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
output id string = vault.id
@description('Vault URI with a trailing slash, e.g. https://<name>.vault.azure.net/.')
output vaultUri string = vault.properties.vaultUri
@description('Versionless secret URI: the app follows the latest version of the secret.')
output anthropicApiKeyUri string = '${vault.properties.vaultUri}secrets/${anthropicApiKeySecretName}'
