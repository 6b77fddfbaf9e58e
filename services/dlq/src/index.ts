export { DLQ_USAGE, parseDlqArgs, runDlqCommand, type DlqArgs, type DlqIo } from './dlq-command';
