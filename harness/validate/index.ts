// Reading a user's own configuration (postgresql.conf, pgbackrest.conf) for `faultline validate`.
export { parsePostgresqlConf, parseMemory, parseTime, parseBoolean, type ConfSetting } from './postgresql-conf.ts';
export { parsePgBackRestConf, pgBackRestOption, type PgBackRestConf, type IniValue } from '../engines/postgres/index.ts';
export { validate, VALIDATE_SCHEMA_VERSION, type ValidateOptions, type ValidateResult, type DrillOutcome } from './validate.ts';
export { formatValidate, validateJUnit, validateHtml, writeValidateFiles } from './output.ts';
export { validateDrills, DRILL_NAMES, type ValidateDrill } from './drills.ts';
export { patroniDrills, HA_DRILL_NAMES } from './ha-drills.ts';
export { sentinelDrills, loadSentinelConfig, explainSentinelDrill, SENTINEL_DRILL_NAMES } from './sentinel.ts';
export { sentinelRules, type SentinelUserConfig } from './rules/sentinel.ts';
export { loadUserConfig, type LoadedUserConfig, type UserConfigFiles } from './user-config.ts';
export { rules, runPreflight, runRules, describeRules } from './rules/index.ts';
export type { Rule, Finding, Severity, UserConfig } from './rules/types.ts';
export { rehearse, rehearsalDefinition, rehearseScenarios, DEFAULT_SCENARIO, type RehearseOptions } from './rehearse.ts';
export { decidePostgresVersion, parsePostgresVersion, type DecidedVersion } from './postgres-version.ts';
export { checkSettingNames, unknownSetting, settingsOf, defaultOf, listedMajors, type SettingsList, type SettingInfo } from './settings-lists.ts';
