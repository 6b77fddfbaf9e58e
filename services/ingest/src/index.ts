export { ingestFile, type IngestFileOptions } from './ingest';
export { EXPORT_FORMATS, formatOfPath, readCsvRecords, readNdjsonRecords, type ExportFormat, type ExportRecord } from './records';
export {
  EXPORT_FIELDS,
  KIND_FIELD,
  contentEventId,
  createRecordConverter,
  type RecordConversion,
  type RecordConverterOptions,
} from './to-event';
export {
  describeRejection,
  exitCodeOf,
  fileSummary,
  summarise,
  type IngestMode,
  type IngestRejectReason,
  type IngestReport,
  type LineRejection,
} from './report';
export { INGEST_USAGE, parseExportSelection, parseIngestArgs, runIngestCommand, type IngestArgs, type IngestIo } from './ingest-command';
