// Key Vault with Azure RBAC authorization (no access policies) and soft delete. Holds the Anthropic API key,
// the API-key pepper and the keys sealing webhook and OpenWebUI connection secrets, which the app reads by
// secret URI with its managed identity (@azure/keyvault-secrets).

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

@description('Name of the secret holding the API-key pepper.')
param apiKeyPepperSecretName string = 'api-key-pepper'

@description('API-key pepper (32+ characters); stored as a secret when given. Empty: no pepper. Never change it once keys exist.')
@secure()
param apiKeyPepper string = ''

@description('Name of the secret holding the key that encrypts webhook signing secrets.')
param webhookSecretKeySecretName string = 'webhook-secret-key'

@description('Key encrypting webhook signing secrets: 32 random bytes, base64.')
@secure()
param webhookSecretKey string

@description('Name of the secret holding the key that seals OpenWebUI connection secrets.')
param connectionSecretsKeySecretName string = 'connection-secrets-key'

@description('Key sealing OpenWebUI connection secrets: 32 random bytes, base64; stored as a secret when given. Empty: no OpenWebUI connections.')
@secure()
param connectionSecretsKey string = ''

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

resource pepperSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(apiKeyPepper)) {
  parent: vault
  name: apiKeyPepperSecretName
  properties: {
    value: apiKeyPepper
    contentType: 'text/plain'
  }
}

resource webhookKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: webhookSecretKeySecretName
  properties: {
    value: webhookSecretKey
    contentType: 'text/plain'
  }
}

resource connectionKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(connectionSecretsKey)) {
  parent: vault
  name: connectionSecretsKeySecretName
  properties: {
    value: connectionSecretsKey
    contentType: 'text/plain'
  }
}

output name string = vault.name
output id string = vault.id
@description('Vault URI with a trailing slash, e.g. https://<name>.vault.azure.net/.')
output vaultUri string = vault.properties.vaultUri
@description('Versionless secret URI: the app follows the latest version of the secret.')
output anthropicApiKeyUri string = '${vault.properties.vaultUri}secrets/${anthropicApiKeySecretName}'
@description('Versionless secret URI of the API-key pepper; empty when no pepper was given.')
output apiKeyPepperUri string = empty(apiKeyPepper) ? '' : '${vault.properties.vaultUri}secrets/${apiKeyPepperSecretName}'
@description('Versionless secret URI of the webhook secret key.')
output webhookSecretKeyUri string = '${vault.properties.vaultUri}secrets/${webhookSecretKeySecretName}'
@description('Versionless secret URI of the OpenWebUI connection sealing key; empty when none was given.')
output connectionSecretsKeyUri string = empty(connectionSecretsKey) ? '' : '${vault.properties.vaultUri}secrets/${connectionSecretsKeySecretName}'
