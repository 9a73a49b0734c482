/// The core's models and rules are part of this library's surface: whoever imports the adapters sees them.
@_exported import SyncCore
