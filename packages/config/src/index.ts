export {
  loadConfig,
  pathFromShell,
  stateSettings,
  ConfigError,
  KAFKA_SASL_MECHANISMS,
  LOG_LEVELS,
  type AppConfig,
  type ScorerSettings,
  type StateSettings,
  type Env,
  type KafkaSaslMechanism,
  type LogLevel,
} from './env';
export { DEFAULT_TOPICS, TOPIC_ENV_VARS, type TopicNames, type TopicRole } from './topics';
export {
  kafkaClientOptions,
  registryClientConfig,
  type KafkaClientOptions,
  type RegistryClientConfig,
} from './clients';
