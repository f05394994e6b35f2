// Every label of the dashboard, in English and Russian. Neutral terms only: sides, monitors,
// zones, clauses.
export type Lang = "en" | "ru";

const en: Record<string, string> = {
  token: "member token", signin: "Sign in", signout: "Sign out", signin_failed: "Sign-in failed",
  all_kinds: "All kinds", all_statuses: "All statuses", all_clauses: "All clauses", all_sides: "All sides", use_mgrs: "Use MGRS", replay: "Replay", live: "live", feed: "Live feed",
  incident: "Incident", status: "Status", position: "Position", ellipse: "95% ellipse", method: "Fixed by", unresolved: "unresolved pulses, not one event (they leave for the rounds that place them)",
  time: "Time", attribution: "Attribution", undetermined: "undetermined", findings: "Findings",
  assessments: "Assessments", observations: "Observations and their entries", none: "none",
  no_position: "not fixed yet", clause: "clause", superseded: "superseded", entry: "entry",
  agreed: "agreed", not_yet_agreed: "not yet in an agreed checkpoint", set_aside: "left out of the fix",
  assess_for: "Assess for", reason: "Reason", regroup: "Merge or split", merge_into: "merge into incident #",
  merge: "Merge", split_ids: "observation numbers", split: "Split off", report: "Report an observation",
  click_map: "Click the map to place it", bearing: "Bearing", bearing_deg: "bearing °", dmin: "min m", dmax: "max m",
  weapon: "weapon", send: "Send", sent: "Sent", ledger: "Shared record", record_size: "Entries",
  checkpoint: "Latest checkpoint", lags: "lags by", illustrative: "ILLUSTRATIVE",
  geom_position: "position", geom_bearing: "bearing", geom_arrival: "sound arrival", geom_uav: "UAV camera",
  role_observer: "observer", role_analyst: "analyst", role_officer: "officer", role_admin: "admin", role_auditor: "auditor",
  verdict_confirm: "Confirm", verdict_dispute: "Dispute", verdict_undetermined: "Cannot determine",
  status_reported: "reported", status_under_review: "under review", status_jointly_confirmed: "jointly confirmed",
  status_disputed: "disputed", status_undetermined: "undetermined", status_merged: "merged",
  kind_explosion: "explosion", kind_burst: "burst of fire", kind_shot: "shots", kind_projectile: "projectile",
  kind_muzzle_flash: "muzzle flash", kind_flare: "flare", kind_uav_sighting: "UAV sighting", kind_movement: "movement",
  kind_damage: "damage", kind_casualty: "casualty", kind_access_denial: "access denied", kind_other: "other",
};

const ru: Record<string, string> = {
  token: "токен участника", signin: "Войти", signout: "Выйти", signin_failed: "Не удалось войти",
  all_kinds: "Все виды", all_statuses: "Все статусы", all_clauses: "Все пункты", all_sides: "Все стороны", use_mgrs: "По MGRS", replay: "Воспроизведение", live: "в реальном времени", feed: "Лента событий",
  incident: "Инцидент", status: "Статус", position: "Местоположение", ellipse: "Эллипс 95%", method: "Определено по", unresolved: "неразобранные импульсы, не одно событие (уходят в выстрелы, которые их объясняют)",
  time: "Время", attribution: "Атрибуция", undetermined: "не установлена", findings: "Выводы",
  assessments: "Оценки", observations: "Наблюдения и их записи", none: "нет",
  no_position: "пока не определено", clause: "пункт", superseded: "заменена", entry: "запись",
  agreed: "согласовано", not_yet_agreed: "ещё не в согласованной контрольной точке", set_aside: "не учтено в оценке",
  assess_for: "Оценка от имени", reason: "Обоснование", regroup: "Объединить или разделить", merge_into: "объединить с инцидентом №",
  merge: "Объединить", split_ids: "номера наблюдений", split: "Выделить", report: "Сообщить о наблюдении",
  click_map: "Щёлкните по карте, чтобы указать место", bearing: "Азимут", bearing_deg: "азимут °", dmin: "мин. м", dmax: "макс. м",
  weapon: "оружие", send: "Отправить", sent: "Отправлено", ledger: "Общий журнал", record_size: "Записей",
  checkpoint: "Последняя контрольная точка", lags: "отстаёт на", illustrative: "ИЛЛЮСТРАТИВНО",
  geom_position: "координаты", geom_bearing: "азимут", geom_arrival: "приход звука", geom_uav: "камера БПЛА",
  role_observer: "наблюдатель", role_analyst: "аналитик", role_officer: "офицер", role_admin: "администратор", role_auditor: "аудитор",
  verdict_confirm: "Подтвердить", verdict_dispute: "Оспорить", verdict_undetermined: "Невозможно определить",
  status_reported: "зарегистрирован", status_under_review: "на рассмотрении", status_jointly_confirmed: "подтверждён совместно",
  status_disputed: "оспорен", status_undetermined: "не установлен", status_merged: "объединён",
  kind_explosion: "взрыв", kind_burst: "очередь", kind_shot: "выстрелы", kind_projectile: "снаряд",
  kind_muzzle_flash: "дульная вспышка", kind_flare: "осветительная ракета", kind_uav_sighting: "БПЛА", kind_movement: "передвижение",
  kind_damage: "разрушения", kind_casualty: "пострадавшие", kind_access_denial: "отказ в доступе", kind_other: "другое",
};

export const i18n: Record<Lang, Record<string, string>> = { en, ru };
