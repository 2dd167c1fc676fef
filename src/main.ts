/// <reference types="vite-plugin-pwa/vanillajs" />
// Starts the app: the engine worker, the stores, and the <gpt2-app> they are handed to. This is the
// only place that creates them, so components never reach for a shared instance. It also registers
// the service worker, whose news (offline ready, update waiting) the update banner shows.
//   ?model=<id>  loads a saved or catalog model on start (downloading it if needed); ?model= loads none
//   (without it the model used last is loaded, or on a first start with nothing saved, the demo model)
//   ?hub=<url>   downloads catalog models from this hub instead of the one in the settings
import { registerSW } from 'virtual:pwa-register';
import { DEMO_MODEL } from './models/demo-model.ts';
import { ConversationStore } from './ui/conversation-store.ts';
import './ui/gpt2-app.ts';
import { SettingsStore } from './ui/settings.ts';
import './ui/update-banner.ts';
import { startEngine } from './worker/engine-client.ts';

const root = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

const banner = document.createElement('update-banner');
document.body.prepend(banner);
const updateServiceWorker = registerSW({
  onNeedRefresh: () => (banner.state = 'update-ready'),
  onOfflineReady: () => (banner.state = 'offline-ready'),
});
banner.addEventListener('update-accept', () => void updateServiceWorker(true));

try {
  const app = document.createElement('gpt2-app');
  app.conversations = await ConversationStore.open();
  app.engine = startEngine();
  app.settingsStore = new SettingsStore(localStorage);
  app.startModelId = params.get('model');
  app.firstRunModelId = DEMO_MODEL.id;
  app.hubUrlOverride = params.get('hub');
  root.replaceChildren(app);
} catch (error) {
  // Without IndexedDB (blocked by the browser's privacy settings) there is nowhere to keep the
  // conversation; say so instead of showing a page that silently loses it.
  const message = document.createElement('p');
  message.className = 'startup-error';
  message.textContent = `The app could not start: ${(error as Error).message}. Allow this site to store data (IndexedDB) and reload.`;
  root.replaceChildren(message);
}
