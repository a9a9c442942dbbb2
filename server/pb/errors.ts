/**
 * etcd's client-visible errors: one value per error with etcd's gRPC code and exact message
 * (etcd's api/v3rpc/rpctypes). The server layer throws these; the domain layers (mvcc, lease) throw
 * their own `DomainError`s, which the one table (etcdserver/requests/api-errors.ts, etcd's
 * v3rpc/util.go) turns into these. The gRPC and HTTP adapters write code and message as they are.
 */
export enum GrpcCode {
  OK = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

export class EtcdError extends Error {
  override readonly name = "EtcdError";
  constructor(
    readonly code: GrpcCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An error of a domain layer (mvcc, lease): a stable value with the domain's own message and no
 * gRPC code. A request that fails with one failed as a request (the same way on every member).
 */
export class DomainError extends Error {
  override readonly name: string = "DomainError";
}

/** A request's own failure (etcd's error for it, or a domain error): not a fault of this member. */
export function isRequestError(e: unknown): e is EtcdError | DomainError {
  return e instanceof EtcdError || e instanceof DomainError;
}

const e = (code: GrpcCode, msg: string) => new EtcdError(code, msg);

export const ErrEmptyKey = e(GrpcCode.InvalidArgument, "etcdserver: key is not provided");
export const ErrKeyNotFound = e(GrpcCode.InvalidArgument, "etcdserver: key not found");
export const ErrValueProvided = e(GrpcCode.InvalidArgument, "etcdserver: value is provided");
export const ErrLeaseProvided = e(GrpcCode.InvalidArgument, "etcdserver: lease is provided");
export const ErrTooManyOps = e(GrpcCode.InvalidArgument, "etcdserver: too many operations in txn request");
export const ErrDuplicateKey = e(GrpcCode.InvalidArgument, "etcdserver: duplicate key given in txn request");
/** etcd 3.5+ (3.4 ignores an unknown sort order and crashes on an unknown sort target). */
export const ErrInvalidSortOption = e(GrpcCode.InvalidArgument, "etcdserver: invalid sort option");
export const ErrCompacted = e(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
export const ErrFutureRev = e(GrpcCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");
export const ErrNoSpace = e(GrpcCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");

export const ErrLeaseNotFound = e(GrpcCode.NotFound, "etcdserver: requested lease not found");
export const ErrLeaseExist = e(GrpcCode.FailedPrecondition, "etcdserver: lease already exists");
export const ErrLeaseTTLTooLarge = e(GrpcCode.OutOfRange, "etcdserver: too large lease TTL");

export const ErrMemberExist = e(GrpcCode.FailedPrecondition, "etcdserver: member ID already exist");
export const ErrPeerURLExist = e(GrpcCode.FailedPrecondition, "etcdserver: Peer URLs already exists");
export const ErrMemberNotEnoughStarted = e(GrpcCode.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members");
export const ErrMemberBadURLs = e(GrpcCode.InvalidArgument, "etcdserver: given member URLs are invalid");
export const ErrMemberNotFound = e(GrpcCode.NotFound, "etcdserver: member not found");
export const ErrMemberNotLearner = e(GrpcCode.FailedPrecondition, "etcdserver: can only promote a learner member");
export const ErrLearnerNotReady = e(GrpcCode.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader");
export const ErrTooManyLearners = e(GrpcCode.FailedPrecondition, "etcdserver: too many learner members in cluster");

export const ErrRequestTooLarge = e(GrpcCode.InvalidArgument, "etcdserver: request is too large");
export const ErrTooManyRequests = e(GrpcCode.ResourceExhausted, "etcdserver: too many requests");

export const ErrNoLeader = e(GrpcCode.Unavailable, "etcdserver: no leader");
export const ErrNotLeader = e(GrpcCode.FailedPrecondition, "etcdserver: not leader");
export const ErrLeaderChanged = e(GrpcCode.Unavailable, "etcdserver: leader changed");
export const ErrNotCapable = e(GrpcCode.Unavailable, "etcdserver: not capable");
export const ErrStopped = e(GrpcCode.Unavailable, "etcdserver: server stopped");
export const ErrTimeout = e(GrpcCode.Unavailable, "etcdserver: request timed out");
export const ErrTimeoutDueToLeaderFail = e(GrpcCode.Unavailable, "etcdserver: request timed out, possibly due to previous leader failure");
export const ErrTimeoutDueToConnectionLost = e(GrpcCode.Unavailable, "etcdserver: request timed out, possibly due to connection lost");
/** etcd's parseProposeCtxErr for a request whose caller went away while its proposal was pending. */
export const ErrCanceled = e(GrpcCode.Unknown, "etcdserver: request cancelled");
/**
 * What etcd answers when a request ends with its Go context's error (raft's Propose blocked with no
 * leader, a linearizable read, a recipe): grpc-go turns a non-status error into code Unknown with its
 * text. etcd never answers DEADLINE_EXCEEDED or CANCELLED, which clientv3 would retry even for writes.
 */
export const ErrCtxDeadlineExceeded = e(GrpcCode.Unknown, "context deadline exceeded");
export const ErrCtxCanceled = e(GrpcCode.Unknown, "context canceled");
/** etcd's waitAppliedIndex: a leader that has not applied what is committed within a second does not answer a lease read. */
export const ErrTimeoutWaitAppliedIndex = e(GrpcCode.Unavailable, "etcdserver: request timed out, waiting for the applied index took too long");
export const ErrTimeoutLeaderTransfer = e(GrpcCode.Unavailable, "etcdserver: request timed out, leader transfer took too long");
export const ErrUnhealthy = e(GrpcCode.Unavailable, "etcdserver: unhealthy cluster");
export const ErrCorrupt = e(GrpcCode.DataLoss, "etcdserver: corrupt cluster");
export const ErrBadLeaderTransferee = e(GrpcCode.FailedPrecondition, "etcdserver: bad leader transferee");

export const ErrGRPCNoSpace = ErrNoSpace;

// authentication and access control (etcd's rpctypes ErrGRPC*: the auth store's errors as clients see them)
export const ErrRootUserNotExist = e(GrpcCode.FailedPrecondition, "etcdserver: root user does not exist");
export const ErrRootRoleNotExist = e(GrpcCode.FailedPrecondition, "etcdserver: root user does not have root role");
export const ErrUserAlreadyExist = e(GrpcCode.FailedPrecondition, "etcdserver: user name already exists");
export const ErrUserEmpty = e(GrpcCode.InvalidArgument, "etcdserver: user name is empty");
export const ErrUserNotFound = e(GrpcCode.FailedPrecondition, "etcdserver: user name not found");
export const ErrRoleAlreadyExist = e(GrpcCode.FailedPrecondition, "etcdserver: role name already exists");
export const ErrRoleNotFound = e(GrpcCode.FailedPrecondition, "etcdserver: role name not found");
export const ErrRoleEmpty = e(GrpcCode.InvalidArgument, "etcdserver: role name is empty");
export const ErrAuthFailed = e(GrpcCode.InvalidArgument, "etcdserver: authentication failed, invalid user ID or password");
export const ErrPermissionDenied = e(GrpcCode.PermissionDenied, "etcdserver: permission denied");
export const ErrRoleNotGranted = e(GrpcCode.FailedPrecondition, "etcdserver: role is not granted to the user");
export const ErrPermissionNotGranted = e(GrpcCode.FailedPrecondition, "etcdserver: permission is not granted to the role");
export const ErrAuthNotEnabled = e(GrpcCode.FailedPrecondition, "etcdserver: authentication is not enabled");
export const ErrInvalidAuthToken = e(GrpcCode.Unauthenticated, "etcdserver: invalid auth token");
export const ErrInvalidAuthMgmt = e(GrpcCode.InvalidArgument, "etcdserver: invalid auth management");
export const ErrPermissionNotGiven = e(GrpcCode.InvalidArgument, "etcdserver: permission not given");
export const ErrAuthOldRevision = e(GrpcCode.InvalidArgument, "etcdserver: revision of auth store is old");
