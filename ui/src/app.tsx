/** The application: session (token link, password, 401 → sign in again), live events, and the page for the route. */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, currentSession, login, logout, onUnauthorized } from './api.js';
import { Shell } from './components/layout.js';
import { ErrorBox, Loading } from './components/feedback.js';
import { LiveContext, useEventStream } from './live.js';
import { useRoute, type Route } from './router.js';
import type { Session } from './types.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { BackupsPage } from './pages/backups.js';
import { BackupDetailPage } from './pages/backup-detail.js';
import { RestorePage } from './pages/restore.js';
import { DatabasesPage } from './pages/databases.js';
import { CopiesPage } from './pages/copies.js';
import { ActivityPage } from './pages/activity.js';
import { ConfigPage } from './pages/config.js';
import { lazyPage } from './lazy-page.js';
import { prefetch } from './use-api.js';
import { HAD_SESSION } from './data-paths.js';

// the history's data is asked for while its code (uPlot) loads
const HistoryPage = lazyPage(
  () => import('./pages/history.js').then((m) => m.HistoryPage),
  () => prefetch('/api/history'),
);

const TITLES: Record<string, string> = {
  overview: 'Overview',
  backups: 'Backups',
  history: 'History',
  restore: 'Restore',
  databases: 'Databases',
  copies: 'Copies',
  activity: 'Tasks, drills and alerts',
  config: 'Configuration',
};

const REFUSED = 'The sign-in link was refused: it is not the current token. Run `prism ui --print-url` on the server and open the new link.';

/** The token of a `#token=…` link, removed from the address bar at once (it must not stay in the history). */
function takeToken(): string | null {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

function Page({ route }: { route: Route }) {
  const [name = 'overview', id] = route.parts;
  switch (name) {
    case 'backups':
      return id ? <BackupDetailPage id={id} route={route} key={id} /> : <BackupsPage route={route} />;
    case 'history':
      return <HistoryPage />;
    case 'restore':
      return <RestorePage route={route} />;
    case 'databases':
      return <DatabasesPage route={route} />;
    case 'copies':
      return <CopiesPage />;
    case 'activity':
      return <ActivityPage />;
    case 'config':
      return <ConfigPage />;
    case 'overview':
      return <OverviewPage />;
    default:
      return (
        <div class="empty">
          <strong>There is no page “{name}”.</strong>
          <p>
            <a href="#/overview">Go to the overview</a>
          </p>
        </div>
      );
  }
}

function SignedIn({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const route = useRoute();
  const live = useEventStream(true);
  const first = useRef(true);
  const name = route.parts[0] ?? 'overview';
  useEffect(() => {
    document.title = `${TITLES[name] ?? 'prism'} · prism`;
    if (first.current) first.current = false;
    else document.getElementById('main')?.focus({ preventScroll: false });
  }, [route]);
  return (
    <LiveContext.Provider value={live}>
      <Shell current={name} onLogout={onLogout} {...(session.version ? { version: session.version } : {})}>
        <Page route={route} />
      </Shell>
    </LiveContext.Provider>
  );
}

/**
 * Whether this browser had a session: then the pages start loading at once, in parallel with the
 * check of the session (a round trip less before the data), and a 401 sends them to sign in.
 */
const hadSession = (): boolean => {
  try {
    return localStorage.getItem(HAD_SESSION) === '1';
  } catch {
    return false;
  }
};
const rememberSession = (yes: boolean): void => {
  try {
    if (yes) localStorage.setItem(HAD_SESSION, '1');
    else localStorage.removeItem(HAD_SESSION);
  } catch {
    // storage off: every load checks the session first
  }
};

/** Before /api/session answers: the pages load, POSTs wait for the CSRF token (a click needs the page drawn, by then it is there). */
const PROVISIONAL: Session = { csrf_token: '' };

export function App() {
  // a browser that had a session draws the page at once (its data requests leave with the first render)
  const [session, setSessionState] = useState<Session | null | false>(() => (!/^#token=/.test(location.hash) && hadSession() ? PROVISIONAL : null));
  const setSession = (s: Session | false) => {
    if (s !== PROVISIONAL) rememberSession(s !== false);
    setSessionState(s);
  };
  const [notice, setNotice] = useState<string | null>(null);
  const [fatal, setFatal] = useState<ApiFailure | null>(null);
  // a layout effect: the session check leaves with the first render, not after the first paint
  useLayoutEffect(() => {
    const token = takeToken();
    const start = token
      ? login({ token }).catch((e: unknown) => {
          if (e instanceof ApiFailure && e.status === 401) {
            setNotice(REFUSED);
            return false as const;
          }
          throw e;
        })
      : currentSession().then((s) => s ?? (false as const));
    start.then(
      (s) => setSession(s),
      (e: unknown) => setFatal(e instanceof ApiFailure ? e : new ApiFailure(0, 'CLIENT', String(e))),
    );
    // a sign-in link opened in a tab that already shows the dashboard
    const onHash = () => {
      const again = takeToken();
      if (again)
        login({ token: again }).then(
          (s) => (setNotice(null), setSession(s)),
          () => (setSession(false), setNotice(REFUSED)),
        );
    };
    addEventListener('hashchange', onHash);
    const off = onUnauthorized(() => {
      setSession(false);
      setNotice('Your session has ended. Sign in again.');
    });
    return () => (off(), removeEventListener('hashchange', onHash));
  }, []);
  if (fatal)
    return (
      <main class="login" id="main">
        <ErrorBox error={fatal} title="The dashboard could not start" retry={() => location.reload()} />
      </main>
    );
  if (session === null) return <Loading what="Opening the dashboard" />;
  if (session === false)
    return (
      <LoginPage
        notice={notice}
        onLogin={(s) => {
          setNotice(null);
          setSession(s);
        }}
      />
    );
  return (
    <SignedIn
      session={session}
      onLogout={() => {
        void logout().finally(() => {
          setNotice('You have signed out.');
          setSession(false);
        });
      }}
    />
  );
}
