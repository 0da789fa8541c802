// Reading a user's own configuration (postgresql.conf, pgbackrest.conf) for `faultline validate`.
export { parsePostgresqlConf, parseMemory, parseTime, parseBoolean, type ConfSetting } from './postgresql-conf.ts';
export { parsePgBackRestConf, pgBackRestOption, type PgBackRestConf, type IniValue } from './pgbackrest-conf.ts';
