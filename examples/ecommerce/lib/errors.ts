/** An HTTP answer >= 400 from another service, with its problem document. */
export class HttpError extends Error {
  readonly status: number
  readonly problem: Problem
  readonly retryAfter: string | undefined

  constructor(status: number, problem: Problem, retryAfter?: string) {
    super(`${problem.title ?? 'HTTP error'} (${status})${problem.detail ? `: ${problem.detail}` : ''}`)
    this.name = 'HttpError'
    this.status = status
    this.problem = problem
    this.retryAfter = retryAfter
  }
}

/** RFC 9457 problem details. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  instance?: string
  [extension: string]: unknown
}

/** An error a route throws to answer with a given status and problem; the service's error handler renders it. */
export class ProblemError extends Error {
  readonly status: number
  readonly type: string
  readonly extra: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(
    status: number,
    type: string,
    detail: string,
    options: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail)
    this.status = status
    this.type = type
    this.extra = options.extra ?? {}
    this.headers = options.headers ?? {}
  }
}

export const notFound = (what: string) => new ProblemError(404, 'not-found', `${what} was not found`)
