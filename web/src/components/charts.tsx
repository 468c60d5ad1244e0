// The attendance-rate charts the dashboard and the Reports page share: a
// line of rates per day and bars of rates per person or group, in percent
// (0–100; a point or bar with no rate is simply not drawn).
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useTranslation } from 'react-i18next';

export interface RatePoint {
  name: string;
  rate: number | null;
}

function useTip() {
  const { t } = useTranslation();
  return (v: unknown) => [`${String(v)} %`, t('dashboard.rateSeries')] as [string, string];
}

/** Rate per day as a line (days with no rate left out by the caller). */
export function RateLine({ data }: { data: RatePoint[] }) {
  const { t } = useTranslation();
  const tip = useTip();
  return (
    <ResponsiveContainer width="100%" height="100%">
      <LineChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e3e8ee" />
        <XAxis dataKey="name" fontSize={12} />
        <YAxis domain={[0, 100]} unit="%" fontSize={12} />
        <Tooltip formatter={tip} />
        <Line
          isAnimationActive={false}
          type="monotone"
          dataKey="rate"
          name={t('dashboard.rateSeries')}
          stroke="#1d4e89"
          strokeWidth={2}
          dot
        />
      </LineChart>
    </ResponsiveContainer>
  );
}

/** Rate per person (horizontal bars) or per group (vertical bars). */
export function RateBars({ data, horizontal = false, fill }: { data: RatePoint[]; horizontal?: boolean; fill: string }) {
  const { t } = useTranslation();
  const tip = useTip();
  return (
    <ResponsiveContainer width="100%" height="100%">
      <BarChart
        data={data}
        layout={horizontal ? 'vertical' : 'horizontal'}
        margin={{ top: 8, right: 16, bottom: 8, left: horizontal ? 8 : 0 }}
      >
        <CartesianGrid strokeDasharray="3 3" stroke="#e3e8ee" />
        {horizontal ? (
          <>
            <XAxis type="number" domain={[0, 100]} unit="%" fontSize={12} />
            <YAxis type="category" dataKey="name" width={120} fontSize={12} />
          </>
        ) : (
          <>
            <XAxis dataKey="name" fontSize={12} />
            <YAxis domain={[0, 100]} unit="%" fontSize={12} />
          </>
        )}
        <Tooltip formatter={tip} />
        <Bar isAnimationActive={false} dataKey="rate" name={t('dashboard.rateSeries')} fill={fill} />
      </BarChart>
    </ResponsiveContainer>
  );
}
