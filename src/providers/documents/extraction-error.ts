/** Why a document could not be extracted: a stable code (on the datasource as `errorCode`) and a reason for people (`error`). */
export type ExtractionErrorCode = 'DOCUMENT_INVALID' | 'DOCUMENT_ENCRYPTED' | 'DOCUMENT_TOO_MANY_PAGES' | 'DOCUMENT_TIMEOUT' | 'DOCUMENT_TOO_LARGE' | 'EXTRACTION_FAILED';

export class ExtractionError extends Error {
  constructor(
    readonly code: ExtractionErrorCode,
    message: string,
  ) {
    super(message);
  }
}
