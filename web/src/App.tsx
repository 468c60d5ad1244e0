// Routes of the UI. Every page but login needs a session; each area checks
// the user's role (see lib/roles.ts) and shows "not allowed" otherwise.
import { lazy, Suspense, type ReactNode } from 'react';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAuth } from './auth/AuthContext';
import { canOpen, homeFor, type Area } from './lib/roles';
import { Layout } from './components/Layout';
import { Loading } from './components/common';
import { LoginPage } from './pages/Login';
import { KioskPage } from './pages/Kiosk';
import { PeoplePage } from './pages/People';
import { PersonPage } from './pages/Person';
import { ImportPage } from './pages/Import';
import { GroupsPage } from './pages/Groups';
import { GroupPage } from './pages/Group';
import { HolidaysPage } from './pages/Holidays';
import { AttendancePage } from './pages/Attendance';
import { ReviewPage } from './pages/Review';
import { CamerasPage } from './pages/Cameras';
import { UsersPage } from './pages/admin/Users';
import { ApiKeysPage } from './pages/admin/ApiKeys';
import { SettingsPage } from './pages/admin/Settings';
import { AuditPage } from './pages/admin/Audit';
import { AccountPage } from './pages/Account';
import { SelfCheckinPage } from './pages/SelfCheckin';
import { MyDataPage } from './pages/MyData';
import { RegisterPage } from './pages/Register';
import { RegistrationsPage } from './pages/Registrations';
import { CorrectionRequestsPage } from './pages/CorrectionRequests';

// The dashboard carries the charting library: load it only when opened.
const DashboardPage = lazy(() => import('./pages/Dashboard').then((m) => ({ default: m.DashboardPage })));
const ReportsPage = lazy(() => import('./pages/Reports').then((m) => ({ default: m.ReportsPage })));

function RequireLogin({ children }: { children: ReactNode }) {
  const { user, loading } = useAuth();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  // A one-time password: nothing else until it is changed (the API agrees).
  if (user.must_change_password && location.pathname !== '/account') return <Navigate to="/account" replace />;
  return <>{children}</>;
}

export function Forbidden() {
  const { t } = useTranslation();
  return (
    <section className="notice" role="alert">
      <h1>403</h1>
      <p>{t('app.forbidden')}</p>
      <Link to="/">{t('app.back')}</Link>
    </section>
  );
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <section className="notice">
      <h1>404</h1>
      <p>{t('app.notFound')}</p>
      <Link to="/">{t('app.back')}</Link>
    </section>
  );
}

function Allow({ area, children }: { area: Area; children: ReactNode }) {
  const { user } = useAuth();
  return canOpen(user?.role, area) ? <>{children}</> : <Forbidden />;
}

function Home() {
  const { user } = useAuth();
  return <Navigate to={user ? homeFor(user.role) : '/login'} replace />;
}

export function App() {
  return (
    <Suspense fallback={<Loading />}>
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route path="/register" element={<RegisterPage />} />
        <Route
          path="/kiosk"
          element={
            <RequireLogin>
              <Allow area="kiosk">
                <KioskPage />
              </Allow>
            </RequireLogin>
          }
        />
        <Route
          element={
            <RequireLogin>
              <Layout />
            </RequireLogin>
          }
        >
          <Route index element={<Home />} />
          <Route path="account" element={<AccountPage />} />
          <Route
            path="checkin"
            element={
              <Allow area="checkin">
                <SelfCheckinPage />
              </Allow>
            }
          />
          <Route
            path="my-data"
            element={
              <Allow area="mydata">
                <MyDataPage />
              </Allow>
            }
          />
          <Route
            path="registrations"
            element={
              <Allow area="registrations">
                <RegistrationsPage />
              </Allow>
            }
          />
          <Route
            path="correction-requests"
            element={
              <Allow area="requests">
                <CorrectionRequestsPage />
              </Allow>
            }
          />
          <Route
            path="dashboard"
            element={
              <Allow area="dashboard">
                <DashboardPage />
              </Allow>
            }
          />
          <Route
            path="people"
            element={
              <Allow area="people">
                <PeoplePage />
              </Allow>
            }
          />
          <Route
            path="people/:id"
            element={
              <Allow area="people">
                <PersonPage />
              </Allow>
            }
          />
          <Route
            path="import"
            element={
              <Allow area="import">
                <ImportPage />
              </Allow>
            }
          />
          <Route
            path="groups"
            element={
              <Allow area="groups">
                <GroupsPage />
              </Allow>
            }
          />
          <Route
            path="groups/:id"
            element={
              <Allow area="groups">
                <GroupPage />
              </Allow>
            }
          />
          <Route
            path="holidays"
            element={
              <Allow area="groups">
                <HolidaysPage />
              </Allow>
            }
          />
          <Route
            path="attendance"
            element={
              <Allow area="attendance">
                <AttendancePage />
              </Allow>
            }
          />
          <Route
            path="review"
            element={
              <Allow area="review">
                <ReviewPage />
              </Allow>
            }
          />
          <Route
            path="reports"
            element={
              <Allow area="reports">
                <ReportsPage />
              </Allow>
            }
          />
          <Route
            path="cameras"
            element={
              <Allow area="cameras">
                <CamerasPage />
              </Allow>
            }
          />
          <Route path="admin" element={<Navigate to="/admin/users" replace />} />
          <Route
            path="admin/users"
            element={
              <Allow area="admin">
                <UsersPage />
              </Allow>
            }
          />
          <Route
            path="admin/api-keys"
            element={
              <Allow area="admin">
                <ApiKeysPage />
              </Allow>
            }
          />
          <Route
            path="admin/settings"
            element={
              <Allow area="admin">
                <SettingsPage />
              </Allow>
            }
          />
          <Route
            path="admin/audit"
            element={
              <Allow area="admin">
                <AuditPage />
              </Allow>
            }
          />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </Suspense>
  );
}
