// The model list and the settings drawer start inside closed dialogs. Rendering them in the same task
// as the conversation made the app's first render one long task that kept the page from answering
// input for a while on a slow phone; rendered a task later, each part is short and nothing visible
// waits for them.
export const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve));
