// Fetching for the command-line tools: a failure is one sentence naming the URL and what went wrong.

/** What a failed fetch or stream says went wrong: Node puts the network's own reason in `cause`. */
export const causeOf = (error: unknown): string => {
  const { message, cause } = error as Error & { cause?: Error };
  return cause?.message ?? message;
};

/** `url`'s response, or an Error saying it could not be reached or which HTTP status it answered. */
export async function fetchOk(url: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(`could not reach ${url} (${causeOf(error)}); check the address and the connection`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''} from ${url}`);
  }
  return response;
}
