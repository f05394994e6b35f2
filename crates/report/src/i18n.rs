//! The report's words in English and Russian: neutral, as the mission's own reports are.

/// A language of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// The language of code `en` or `ru`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// Its code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The label `key` in this language (the key itself when there is none: a missing label
    /// shows rather than hides).
    pub fn t(self, key: &'static str) -> &'static str {
        let (en, ru) = match key {
            "title" => ("Daily report", "Ежедневный отчёт"),
            "issued" => ("issued on", "выпущен"),
            "period" => ("Reporting period", "Отчётный период"),
            "utc" => ("All times are UTC.", "Всё время указано в UTC."),
            "center" => ("Issued by", "Выпущен"),
            "center_name" => (
                "the joint monitoring center",
                "совместным центром мониторинга",
            ),
            "anchor" => ("Record checkpoint", "Контрольная точка записи"),
            "size" => ("entries", "записей"),
            "root" => ("root", "корень"),
            "cosigned" => ("cosigned by", "подписана также"),
            "not_cosigned" => (
                "not yet cosigned by any monitor",
                "ещё не подписана ни одним наблюдателем",
            ),
            "no_checkpoint" => (
                "no checkpoint yet: the figures rest on the unsigned record",
                "контрольной точки ещё нет: данные основаны на неподписанной записи",
            ),
            "illustrative" => (
                "ILLUSTRATIVE — not an official line or map of control",
                "ИЛЛЮСТРАТИВНО — не официальная линия и не карта контроля",
            ),
            "summary" => ("Summary", "Краткое изложение"),
            "by_area" => ("Violations by area", "Нарушения по районам"),
            "area" => ("Area", "Район"),
            "violations" => ("Violations", "Нарушения"),
            "incidents" => ("Incidents", "Инциденты"),
            "explosions" => ("Explosions", "Взрывы"),
            "impact" => ("impact", "попадание"),
            "airburst" => ("airburst", "воздушный подрыв"),
            "undetermined_sub" => ("undetermined", "не определено"),
            "projectiles" => ("Projectiles", "Снаряды в полёте"),
            "muzzle_flashes" => ("Muzzle flashes", "Дульные вспышки"),
            "flares" => ("Flares", "Осветительные ракеты"),
            "bursts_shots" => ("Bursts and shots", "Очереди и выстрелы"),
            "previous" => ("Previous period", "Предыдущий период"),
            "change" => ("Change", "Изменение"),
            "covered" => (
                "Covered: explosions / small arms",
                "Охват: взрывы / стрелковое",
            ),
            "coverage" => (
                "monitors' presence (10 km hearing range)",
                "присутствие наблюдателей (слышимость 10 км)",
            ),
            "all_areas" => ("All areas", "Все районы"),
            "outside_areas" => (
                "Outside every area of responsibility",
                "Вне районов ответственности",
            ),
            "attribution" => (
                "Attribution by side and clause",
                "Отнесение по сторонам и пунктам",
            ),
            "side" => ("Side", "Сторона"),
            "clause" => ("Clause", "Пункт"),
            "not_attributable" => ("Not attributable", "Не отнесено"),
            "disputed" => ("Disputed", "Оспорено"),
            "verdicts" => ("Each monitor's verdicts", "Заключения наблюдателей"),
            "monitor" => ("Monitor", "Наблюдатель"),
            "confirm" => ("Confirmed", "Подтверждено"),
            "dispute" => ("Disputed", "Оспорено"),
            "undetermined" => ("Undetermined", "Не установлено"),
            "pending" => ("No verdict yet", "Без заключения"),
            "access" => (
                "Restrictions of movement (access denied)",
                "Ограничения передвижения (отказ в доступе)",
            ),
            "none_recorded" => ("None recorded.", "Не зарегистрировано."),
            "totals" => (
                "Running totals since the agreement took effect",
                "Нарастающий итог с вступления соглашения в силу",
            ),
            "since" => ("since", "с"),
            "annex" => (
                "Annex: incidents of the period",
                "Приложение: инциденты периода",
            ),
            "time" => ("Time", "Время"),
            "location" => ("Location", "Место"),
            "ellipse" => ("95% ellipse", "Эллипс 95%"),
            "kind" => ("Kind", "Тип"),
            "reports" => ("Reports", "Сообщения"),
            "zone" => ("Zones", "Зоны"),
            "status" => ("Status", "Статус"),
            "map" => ("Map of the period's incidents", "Карта инцидентов периода"),
            "caveats" => ("Caveats and method", "Оговорки и методика"),
            "verification" => ("Verification", "Проверка"),
            "violation_incidents" => (
                "Incidents with a finding against a clause",
                "Инциденты с нарушением пункта",
            ),
            "page" => ("Page", "Стр."),
            "of" => ("of", "из"),
            "no_violations" => (
                "No violations recorded in this area during the period.",
                "В этом районе за период нарушений не зарегистрировано.",
            ),
            _ => return key,
        };
        match self {
            Lang::En => en,
            Lang::Ru => ru,
        }
    }

    /// The name of an incident kind.
    pub fn kind(self, kind: &str) -> &'static str {
        let (en, ru) = match kind {
            "explosion" => ("explosion", "взрыв"),
            "burst" => ("burst of fire", "очередь"),
            "shot" => ("shots", "выстрелы"),
            "projectile" => ("projectile", "снаряд в полёте"),
            "muzzle_flash" => ("muzzle flash", "дульная вспышка"),
            "flare" => ("flare", "осветительная ракета"),
            "uav_sighting" => ("UAV sighting", "наблюдение БПЛА"),
            "movement" => ("movement", "передвижение"),
            "damage" => ("damage", "повреждения"),
            "casualty" => ("casualty", "пострадавшие"),
            "access_denial" => ("access denied", "отказ в доступе"),
            _ => ("other", "прочее"),
        };
        if self == Lang::En { en } else { ru }
    }

    /// The name of a verification status.
    pub fn status(self, status: &str) -> &'static str {
        let (en, ru) = match status {
            "reported" => ("reported", "сообщено"),
            "under_review" => ("under review", "на рассмотрении"),
            "jointly_confirmed" => ("jointly confirmed", "подтверждено совместно"),
            "disputed" => ("disputed", "оспорено"),
            "merged" => ("merged", "объединено"),
            _ => ("undetermined", "не установлено"),
        };
        if self == Lang::En { en } else { ru }
    }
}
