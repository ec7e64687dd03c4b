/** What other capabilities use of the PKI: the issuing function provisioning calls during activation. */
export type {
  CertificateHolder,
  CertificateRequest,
  IssueCertificate,
  IssuedCertificate,
  IssueReason,
} from "./issue-certificate.js";
export { createPki, type Pki } from "./setup.js";
