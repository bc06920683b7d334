// What every page shares: the signed-in session and the user's live event stream, fanned out to the pages that
// listen.
import { EventFeed, request, setCsrfToken } from "./api.js";

export const store = {
  /** `GET /auth/session`'s answer: user, csrfToken, keyPrefix, limits; null when signed out. */
  session: null,
  feed: null,
  listeners: new Set(),
  /** Called when the server refuses the stream and the session is gone. */
  onSignedOut: () => {},
};

/** Listens to every change of the user's transcriptions; returns the function that stops listening. */
export function subscribe(listener) {
  store.listeners.add(listener);
  return () => store.listeners.delete(listener);
}

function publish(job, eventName) {
  for (const listener of store.listeners) listener(job, eventName);
}

/** Takes a session answer: remembers it and starts the event stream. */
export function signedIn(session) {
  store.session = session;
  setCsrfToken(session.csrfToken);
  if (store.feed) store.feed.stop();
  store.feed = new EventFeed(publish, async () => {
    // The stream was refused: still signed in (a server restart) → open it again; otherwise sign in anew.
    try {
      signedIn(await request("GET", "/auth/session"));
    } catch (error) {
      if (error.status === 401) {
        signedOut();
        store.onSignedOut();
      } else {
        setTimeout(() => store.feed && store.feed.onClosed(), 3000);
      }
    }
  });
  store.feed.start();
}

export function signedOut() {
  if (store.feed) store.feed.stop();
  store.feed = null;
  store.session = null;
  setCsrfToken("");
}
