// Azure Web PubSub for job progress push. Access keys are disabled: the function app publishes and issues
// client access tokens with its managed identity (Web PubSub Service Owner).

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Service name: 3-63 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(63)
param name string

@description('Free_F1 for trials (20 connections, 20,000 messages a day), Standard_S1 for production.')
@allowed([
  'Free_F1'
  'Standard_S1'
])
param skuName string = 'Standard_S1'

@description('Units of Standard_S1 (1,000 connections each); Free_F1 always has 1.')
@minValue(1)
param capacity int = 1

@description('Hub the app publishes progress to (app setting WEB_PUBSUB_HUB).')
param hubName string = 'progress'

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuName == 'Free_F1' ? 'Free' : 'Standard'
    capacity: skuName == 'Free_F1' ? 1 : capacity
  }
  properties: {
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: {
      clientCertEnabled: false
    }
  }
}

// Clients connect with tokens the app issues; nothing connects anonymously. No event handlers: the app only
// pushes, it does not receive client events.
resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: webPubSub
  name: hubName
  properties: {
    anonymousConnectPolicy: 'deny'
    eventHandlers: []
  }
}

output name string = webPubSub.name
output id string = webPubSub.id
@description('Service endpoint, e.g. https://<name>.webpubsub.azure.com.')
output endpoint string = 'https://${webPubSub.properties.hostName}'
output hubName string = hub.name
